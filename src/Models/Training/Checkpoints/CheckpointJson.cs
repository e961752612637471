using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Sweep.Models.Networks;

namespace Sweep.Models.Training.Checkpoints;

/// <summary>
/// The JSON of a checkpoint header: snake_case names, enums as snake_case strings, a model spec tagged by its
/// "family" (fc, three_layer_convnet, convnet, the parameter table's names), and only the properties a spec is built
/// from (computed ones such as input_dim are left out).
/// </summary>
internal static class CheckpointJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            RespectRequiredConstructorParameters = true,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { ModelSpecs } },
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false));
        options.MakeReadOnly();
        return options;
    }

    private static void ModelSpecs(JsonTypeInfo info)
    {
        if (info.Type == typeof(ModelSpec))
        {
            info.PolymorphismOptions = new JsonPolymorphismOptions
            {
                TypeDiscriminatorPropertyName = "family",
                UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization,
                DerivedTypes =
                {
                    new JsonDerivedType(typeof(FullyConnectedNetSpec), "fc"),
                    new JsonDerivedType(typeof(ThreeLayerConvNetSpec), "three_layer_convnet"),
                    new JsonDerivedType(typeof(ConvNetSpec), "convnet"),
                },
            };
        }
        if (typeof(ModelSpec).IsAssignableFrom(info.Type) && info.Kind == JsonTypeInfoKind.Object)
        {
            // Computed properties (input_dim, output_size, padding) have no setter: they are not part of the spec.
            for (var i = info.Properties.Count - 1; i >= 0; i--)
                if (info.Properties[i].Set is null)
                    info.Properties.RemoveAt(i);
        }
    }
}
