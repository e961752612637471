using Akka.Actor;
using Akka.Serialization;

namespace Sweep.Contract.Serialization;

/// <summary>
/// Takes the place of Akka's Newtonsoft.Json serializer (name <c>json</c>, id 1, bound to System.Object by
/// default), whose payloads name the CLR type to build. Nothing is serialized or deserialized through it: a message
/// or journal row of a type Sweep does not know is refused instead of being turned into whatever it names.
/// </summary>
public sealed class TypeNamingRefused(ExtendedActorSystem system) : Serializer(system)
{
    /// <summary>Akka passes the replaced serializer's settings section (akka.actor.serialization-settings.json); it is not used.</summary>
    public TypeNamingRefused(ExtendedActorSystem system, Akka.Configuration.Config settings) : this(system)
    {
    }

    /// <summary>The id Akka gives its Newtonsoft serializer; payloads that name it land here.</summary>
    public const int SerializerId = 1;

    public override int Identifier => SerializerId;

    public override bool IncludeManifest => true;

    public override byte[] ToBinary(object obj) =>
        throw new System.Runtime.Serialization.SerializationException(
            $"no serializer is bound to {obj.GetType().FullName}: Sweep sends and stores only its own messages (sweep-json)");

    public override object FromBinary(byte[] bytes, Type? type) =>
        throw new System.Runtime.Serialization.SerializationException(
            "refused a payload of Akka's type-naming JSON serializer (id 1): Sweep reads only its own messages (sweep-json)");
}
