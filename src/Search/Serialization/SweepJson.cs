using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sweep.Search.Serialization;

/// <summary>
/// The System.Text.Json options for everything Sweep journals or sends: snake_case property names, lower-case enum
/// names, polymorphic events and dimensions with stable discriminators (<c>event</c>, <c>type</c>), never CLR type names.
/// The journal serializer and the tests share these.
/// </summary>
public static class SweepJson
{
    public static JsonSerializerOptions Options { get; } = Create(indented: false);

    public static JsonSerializerOptions IndentedOptions { get; } = Create(indented: true);

    private static JsonSerializerOptions Create(bool indented)
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            WriteIndented = indented,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            // Non-finite doubles never appear in results (divergence is a status), but reject them loudly if they do.
            NumberHandling = JsonNumberHandling.Strict,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            RespectNullableAnnotations = true,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>
    /// One journal event as JSON with its <c>event</c> discriminator. Always go through this (or serialize as
    /// <see cref="Engine.ISweepEvent"/>): serializing the concrete record type would leave the discriminator out.
    /// </summary>
    public static string SerializeEvent(Engine.ISweepEvent sweepEvent) => JsonSerializer.Serialize(sweepEvent, Options);

    /// <summary>Reads an event written by <see cref="SerializeEvent"/>; unknown discriminators throw <see cref="JsonException"/>.</summary>
    public static Engine.ISweepEvent DeserializeEvent(string json) => Deserialize<Engine.ISweepEvent>(json);

    public static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException($"expected a {typeof(T).Name}, got null");
}
