using Sweep.Models.Data;
using Sweep.Models.Tests.TestSupport;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Data;

/// <summary>The real CIFAR-10 of shared/data (its README gives the figures checked here).</summary>
public class RealCifarTests
{
    [Fact]
    public void Seed_split_has_the_seed_shapes_and_the_data_readme_label_counts()
    {
        var data = CifarLoader.Load(RealCifar.Directory, CifarSplitOptions.Default);
        Assert.Equal(new long[] { 49000, 3, 32, 32 }, data.TrainImages.shape);
        Assert.Equal(new long[] { 1000, 3, 32, 32 }, data.ValImages.shape);
        Assert.Equal(new long[] { 1000, 3, 32, 32 }, data.TestImages.shape);

        using var scope = NewDisposeScope();
        var testCounts = data.TestLabels.bincount(null, 10).data<long>().ToArray();
        Assert.Equal(new long[] { 103, 89, 100, 103, 90, 86, 112, 102, 106, 109 }, testCounts);
        var trainCounts = (data.TrainLabels.bincount(null, 10) + data.ValLabels.bincount(null, 10)).data<long>().ToArray();
        Assert.All(trainCounts, c => Assert.Equal(5000, c));
        // Mean image subtracted: the training split is centred at every pixel.
        Assert.True(data.TrainImages.mean([0]).abs().max().item<float>() < 1e-3);
    }

    [Fact]
    public void Raw_training_pixels_have_the_published_per_channel_means()
    {
        var folder = RealCifar.Directory;
        var sums = new double[3];
        long images = 0;
        for (var f = 1; f <= 5; f++)
        {
            var batch = CifarBinaryFormat.Read(Path.Combine(folder, $"data_batch_{f}.bin"));
            images += batch.Count;
            for (var i = 0; i < batch.Count; i++)
                for (var c = 0; c < 3; c++)
                {
                    long sum = 0;
                    var start = i * 3072 + c * 1024;
                    for (var p = 0; p < 1024; p++)
                        sum += batch.Pixels[start + p];
                    sums[c] += sum;
                }
        }
        Assert.Equal(50000, images);
        var means = sums.Select(s => s / (images * 1024.0)).ToArray();
        Assert.Equal(125.307, means[0], 0.001);
        Assert.Equal(122.950, means[1], 0.001);
        Assert.Equal(113.865, means[2], 0.001);
    }
}
