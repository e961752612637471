using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Sweep.Contract.Configuration;
using Sweep.Contract.Protocol;
using Sweep.Contract.Serialization;
using Sweep.Search.Spaces;
using Sweep.Search.Trials;

namespace Sweep.Contract.Tests.Serialization;

/// <summary>
/// No payload can name a type: Akka's Newtonsoft serializer (id 1, bound to System.Object) is replaced by one that
/// refuses, and a Sweep message carrying an unsafe trial id is refused when read.
/// </summary>
public sealed class TypeNamingRefusedTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("type-naming-test",
        ConfigurationFactory.ParseString("akka.actor.provider = local").WithFallback(SweepConfig.Reference()));

    public void Dispose() => _system.Dispose();

    [Fact]
    public void A_type_naming_payload_with_Newtonsofts_id_is_refused_not_instantiated()
    {
        // What a non-member sent in issue 9: a Dictionary<string,object> spelled out with $type.
        var payload = Encoding.UTF8.GetBytes("""{"$type":"System.Collections.Generic.Dictionary`2[[System.String, System.Private.CoreLib],[System.Object, System.Private.CoreLib]], System.Private.CoreLib","a":1}""");
        var manifest = typeof(Dictionary<string, object>).AssemblyQualifiedName!;

        var error = Assert.Throws<SerializationException>(() => _system.Serialization.Deserialize(payload, 1, manifest));
        Assert.Contains("refused", error.Message);
    }

    [Fact]
    public void Types_without_a_Sweep_binding_are_not_serialized_at_all()
    {
        var serializer = _system.Serialization.FindSerializerForType(typeof(Dictionary<string, object>));
        Assert.IsType<TypeNamingRefused>(serializer);
        Assert.Throws<SerializationException>(() => serializer.ToBinary(new Dictionary<string, object> { ["a"] = 1 }));
    }

    [Theory]
    [InlineData("/tmp/outside")]
    [InlineData("../../etc")]
    [InlineData("s1-t0001/../../x")]
    [InlineData("")]
    public void A_message_with_an_unsafe_trial_id_is_refused_when_read(string trialId)
    {
        var serializer = (SweepWireSerializer)_system.Serialization.FindSerializerForType(typeof(AssignTrial));
        var forged = new AssignTrial(new TrialSpec(trialId, 1, TrialConfig.Empty, new TrialBudget(1, 100), 7));
        var bytes = serializer.ToBinary(forged);

        var error = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes, serializer.Manifest(forged)));
        Assert.Contains("invalid trial id", error.Message);
    }
}
