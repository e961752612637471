using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using Sweep.Search.Serialization;

namespace Sweep.Contract.Serialization;

/// <summary>
/// Akka serializer for every Sweep message, journal event and snapshot: UTF-8 System.Text.Json with the
/// search library's shared options, and a stable manifest name from <see cref="WireManifests"/> (never a
/// CLR type name), so renaming or moving a class never breaks a stored journal or a running cluster.
/// </summary>
public sealed class SweepWireSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int SerializerId = 4231;

    public override int Identifier => SerializerId;

    public override string Manifest(object o) => WireManifests.NameOf(o.GetType());

    public override byte[] ToBinary(object obj) =>
        JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), SweepJson.Options);

    public override object FromBinary(byte[] bytes, string manifest) =>
        WireChecks.Checked(JsonSerializer.Deserialize(bytes, WireManifests.TypeOf(manifest), SweepJson.Options)
        ?? throw new System.Runtime.Serialization.SerializationException($"sweep-json: payload of '{manifest}' deserialized to null"));
}
