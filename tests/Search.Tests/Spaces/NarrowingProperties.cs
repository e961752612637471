using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sweep.Search.Spaces;

namespace Sweep.Search.Tests.Spaces;

/// <summary>Properties of <see cref="Dimension.NarrowAround"/> over random ranges, top values and margins.</summary>
public class NarrowingProperties
{
    public record FloatCase(FloatRange Parent, double[] Top, double Margin, double SmallerMargin);
    public record IntCase(IntRange Parent, int[] Top, double Margin);

    private static Gen<double> Unit => Gen.Choose(0, 1_000_000).Select(i => i / 1_000_000.0);

    public static Arbitrary<FloatCase> FloatCases() =>
        (from log in Gen.Elements(true, false)
         from a in Gen.Choose(-60, 30)
         from width in Gen.Choose(1, 60)
         from us in Gen.ArrayOf(Unit).Where(xs => xs.Length > 0)
         from margin in Gen.Choose(0, 200).Select(m => m / 100.0)
         from shrink in Unit
         let low = log ? Math.Pow(10, a / 10.0) : a / 10.0
         let high = log ? Math.Pow(10, (a + width) / 10.0) : (a + width) / 10.0
         let parent = new FloatRange("x", low, high, log)
         select new FloatCase(parent, us.Select(u => parent.Sample(new FixedRandom(u)).AsDouble()).ToArray(), margin, margin * shrink)).ToArbitrary();

    public static Arbitrary<IntCase> IntCases() =>
        (from log in Gen.Elements(true, false)
         from low in Gen.Choose(1, 500)
         from width in Gen.Choose(1, 500)
         from tops in Gen.ArrayOf(Gen.Choose(0, width)).Where(xs => xs.Length > 0)
         from margin in Gen.Choose(0, 200).Select(m => m / 100.0)
         select new IntCase(new IntRange("n", low, low + width, log), tops.Select(t => low + t).ToArray(), margin)).ToArbitrary();

    [Property(Arbitrary = [typeof(NarrowingProperties)], MaxTest = 300)]
    public bool Narrowed_float_range_stays_inside_the_parent_and_keeps_every_top_value(FloatCase c)
    {
        var narrowed = c.Parent.NarrowAround(c.Top.Select(ParamValue.Of).ToList(), c.Margin);
        return c.Parent.Encloses(narrowed) && c.Top.All(v => narrowed.Contains(ParamValue.Of(v)));
    }

    [Property(Arbitrary = [typeof(NarrowingProperties)], MaxTest = 300)]
    public bool A_smaller_margin_never_gives_a_wider_range(FloatCase c)
    {
        var wide = c.Parent.NarrowAround(c.Top.Select(ParamValue.Of).ToList(), c.Margin);
        var tight = c.Parent.NarrowAround(c.Top.Select(ParamValue.Of).ToList(), c.SmallerMargin);
        return wide.Encloses(tight);
    }

    [Property(Arbitrary = [typeof(NarrowingProperties)], MaxTest = 300)]
    public bool Samples_from_a_narrowed_float_range_stay_inside_the_parent(FloatCase c, int seed)
    {
        var narrowed = c.Parent.NarrowAround(c.Top.Select(ParamValue.Of).ToList(), c.Margin);
        var random = new Random(seed);
        return Enumerable.Range(0, 20).All(_ => c.Parent.Contains(narrowed.Sample(random)));
    }

    [Property(Arbitrary = [typeof(NarrowingProperties)], MaxTest = 300)]
    public bool Narrowed_int_range_stays_inside_the_parent_and_keeps_every_top_value(IntCase c)
    {
        var narrowed = c.Parent.NarrowAround(c.Top.Select(ParamValue.Of).ToList(), c.Margin);
        return c.Parent.Encloses(narrowed) && c.Top.All(v => narrowed.Contains(ParamValue.Of(v)));
    }

    [Property(MaxTest = 300)]
    public bool Narrowed_choice_keeps_exactly_the_top_values_in_parent_order(NonEmptyArray<byte> picks)
    {
        string[] all = ["a", "b", "c", "d", "e"];
        var parent = new Choice("c", [.. all.Select(ParamValue.Of)]);
        var top = picks.Get.Select(p => ParamValue.Of(all[p % all.Length])).ToList();
        var narrowed = Assert.IsType<Choice>(parent.NarrowAround(top, 0.5));
        var expected = all.Where(v => top.Contains(ParamValue.Of(v)));
        return parent.Encloses(narrowed) && narrowed.Values.Select(v => v.AsString()).SequenceEqual(expected);
    }

    /// <summary>A random source whose first draw is a chosen unit value (so generated top values lie in the parent).</summary>
    private sealed class FixedRandom(double u) : Random
    {
        public override double NextDouble() => u;
        protected override double Sample() => u;
    }
}
