using System.Collections.Immutable;
using System.Text.Json.Serialization;
using System.Text.Json;
using Sweep.Search.Engine;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;

namespace Sweep.Search.Serialization;

/// <summary>Writes a <see cref="ParamValue"/> as its natural JSON: number, string, boolean or array of integers.</summary>
public sealed class ParamValueJsonConverter : JsonConverter<ParamValue>
{
    public override ParamValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return ParamValue.Of(reader.GetString()!);
            case JsonTokenType.True:
                return ParamValue.Of(true);
            case JsonTokenType.False:
                return ParamValue.Of(false);
            case JsonTokenType.Number:
                return ReadNumber(ref reader);
            case JsonTokenType.StartArray:
                var list = new List<int>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var item))
                        throw new JsonException("a parameter list may only hold integers");
                    list.Add(item);
                }
                return ParamValue.Of(list);
            default:
                throw new JsonException($"a parameter value must be a number, string, boolean or integer list, got {reader.TokenType}");
        }
    }

    private static readonly System.Buffers.SearchValues<byte> FloatMarkers = System.Buffers.SearchValues.Create(".eE"u8);

    private static ParamValue ReadNumber(ref Utf8JsonReader reader)
    {
        // Floats are always written with '.' or 'e', so an integral literal is an int.
        var isInteger = reader.HasValueSequence
            ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence).AsSpan().IndexOfAny(FloatMarkers) < 0
            : reader.ValueSpan.IndexOfAny(FloatMarkers) < 0;
        if (isInteger && reader.TryGetInt32(out var i)) return ParamValue.Of(i);
        return ParamValue.Of(reader.GetDouble());
    }

    public override void Write(Utf8JsonWriter writer, ParamValue value, JsonSerializerOptions options)
    {
        switch (value.Kind)
        {
            case ParamKind.Int: writer.WriteNumberValue(value.AsInt()); break;
            case ParamKind.Float: writer.WriteRawValue(ParamValue.FormatFloat(value.AsDouble()), skipInputValidation: true); break;
            case ParamKind.Bool: writer.WriteBooleanValue(value.AsBool()); break;
            case ParamKind.String: writer.WriteStringValue(value.AsString()); break;
            default:
                writer.WriteStartArray();
                foreach (var item in value.AsIntList()) writer.WriteNumberValue(item);
                writer.WriteEndArray();
                break;
        }
    }
}

/// <summary>Writes a <see cref="TrialConfig"/> as a JSON object in name order.</summary>
public sealed class TrialConfigJsonConverter : JsonConverter<TrialConfig>
{
    private static readonly ParamValueJsonConverter Values = new();

    public override TrialConfig Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("a trial config must be a JSON object");
        var entries = new List<KeyValuePair<string, ParamValue>>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString()!;
            reader.Read();
            entries.Add(KeyValuePair.Create(name, Values.Read(ref reader, typeof(ParamValue), options)));
        }
        return TrialConfig.From(entries);
    }

    public override void Write(Utf8JsonWriter writer, TrialConfig value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        foreach (var (name, v) in value)
        {
            writer.WritePropertyName(name);
            Values.Write(writer, v, options);
        }
        writer.WriteEndObject();
    }
}

/// <summary>Writes a <see cref="SearchSpace"/> as the array of its (polymorphic) dimensions.</summary>
public sealed class SearchSpaceJsonConverter : JsonConverter<SearchSpace>
{
    public override SearchSpace Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new(JsonSerializer.Deserialize<ImmutableArray<Dimension>>(ref reader, options));

    public override void Write(Utf8JsonWriter writer, SearchSpace value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value.Dimensions, options);
}

/// <summary>
/// Writes a <see cref="SweepState"/> snapshot as its essential data (spec, stage markers, trials); the indexes
/// (pending queue, running-by-worker, counts, best) are rebuilt on read in O(n log n).
/// </summary>
public sealed class SweepStateJsonConverter : JsonConverter<SweepState>
{
    private sealed record Snapshot(int Version, SweepSpec? Spec, long Seed, int CurrentStage, int LastCompletedStage, bool IsCompleted, ImmutableArray<TrialState> Trials);

    public override SweepState Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var snapshot = JsonSerializer.Deserialize<Snapshot>(ref reader, options) ?? throw new JsonException("a sweep state snapshot must not be null");
        if (snapshot.Version != 1) throw new JsonException($"unsupported sweep state snapshot version {snapshot.Version}; this build reads version 1");
        return SweepState.FromSnapshot(snapshot.Spec, snapshot.Seed, snapshot.CurrentStage, snapshot.LastCompletedStage, snapshot.IsCompleted,
            snapshot.Trials.IsDefault ? [] : snapshot.Trials);
    }

    public override void Write(Utf8JsonWriter writer, SweepState value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, new Snapshot(1, value.Spec, value.Seed, value.CurrentStage, value.LastCompletedStage, value.IsCompleted,
            [.. value.Trials.Values.OrderBy(t => t.Ordinal)]), options);
}
