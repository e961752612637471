using System.Text.Json;
using System.Text.Json.Serialization;
using Sweep.Search.Serialization;
using Sweep.Search.Trials;
using Sweep.Worker.Trials;

namespace Sweep.Worker.Isolation;

// The conversation between a worker and one slot's trial process: one JSON object per line on the child's stdin
// (worker -> child) and stdout (child -> worker). The "type" field names the message kind, never a CLR type.
// The child opens with "hello" carrying its protocol version; the worker refuses any other version.

/// <summary>A message between a worker and its trial process.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(HostReady), "hello")]
[JsonDerivedType(typeof(HostStartFailed), "start-failed")]
[JsonDerivedType(typeof(RunTrialRequest), "run")]
[JsonDerivedType(typeof(CancelTrialRequest), "cancel")]
[JsonDerivedType(typeof(TrialEpochDone), "epoch")]
[JsonDerivedType(typeof(TrialRunReturned), "result")]
[JsonDerivedType(typeof(TrialRunThrew), "error")]
public interface ITrialHostMessage;

/// <summary>Child -> worker, first line: the data is loaded and trials can be sent.</summary>
public sealed record HostReady(int Protocol, int ProcessId) : ITrialHostMessage;

/// <summary>Child -> worker, instead of hello: the child cannot run trials (e.g. unreadable data); it exits next.</summary>
public sealed record HostStartFailed(string Error) : ITrialHostMessage;

/// <summary>Worker -> child: run this trial on this slot (one at a time), starting and checkpointing as <paramref name="Options"/> say.</summary>
public sealed record RunTrialRequest(TrialSpec Trial, TrialSlot Slot, TrialRunOptions Options) : ITrialHostMessage;

/// <summary>Worker -> child: cancel the running trial cooperatively (it ends with status cancelled).</summary>
public sealed record CancelTrialRequest(string TrialId) : ITrialHostMessage;

/// <summary>Child -> worker: one epoch of the running trial finished.</summary>
public sealed record TrialEpochDone(string TrialId, TrialEpochProgress Progress) : ITrialHostMessage;

/// <summary>Child -> worker: the trial returned (completed, diverged or cancelled); its tensors are freed.</summary>
public sealed record TrialRunReturned(string TrialId, TrialResult Result) : ITrialHostMessage;

/// <summary>Child -> worker: the trial threw; <see cref="Error"/> is "ExceptionType: first line of its message".</summary>
/// A configuration error names its <see cref="Parameter"/>: the worker reports it as final, never retried.
public sealed record TrialRunThrew(string TrialId, string Error, string? Parameter = null) : ITrialHostMessage;

/// <summary>A line that is not a valid message of this protocol, or not one the receiving side accepts.</summary>
public sealed class TrialHostProtocolException(string message) : Exception(message);

/// <summary>Encodes and decodes the lines of the trial-process protocol, and checks what each side may send.</summary>
public static class TrialHostProtocol
{
    /// <summary>Bumped whenever a message changes shape; a worker talks only to a child of its own version.</summary>
    public const int Version = 2;

    /// <summary>Longest line accepted: a result with a few hundred epochs is a few kilobytes.</summary>
    public const int MaxLineLength = 1 << 20;

    // The shared Sweep options (snake_case, parameter converters), plus: every constructor parameter is required,
    // and a diverged trial's non-finite loss travels as "NaN" exactly as it would inside one process.
    private static readonly JsonSerializerOptions Options = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(SweepJson.Options)
        {
            WriteIndented = false,
            RespectRequiredConstructorParameters = true,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>One line (without the newline) holding <paramref name="message"/>.</summary>
    public static string Encode(ITrialHostMessage message) => JsonSerializer.Serialize(message, Options);

    /// <summary>A message the child sent to the worker: hello, start-failed, epoch, result or error.</summary>
    public static ITrialHostMessage DecodeFromChild(string line)
    {
        var message = Decode(line);
        if (message is RunTrialRequest or CancelTrialRequest)
            throw new TrialHostProtocolException($"a trial process may not send '{Kind(message)}'");
        return message switch
        {
            TrialEpochDone epoch => Check(epoch),
            TrialRunReturned returned => Check(returned),
            _ => message,
        };
    }

    /// <summary>A message the worker sent to the child: run or cancel.</summary>
    public static ITrialHostMessage DecodeFromWorker(string line)
    {
        var message = Decode(line);
        if (message is not (RunTrialRequest or CancelTrialRequest))
            throw new TrialHostProtocolException($"a worker may not send '{Kind(message)}'");
        return message;
    }

    private static ITrialHostMessage Decode(string line)
    {
        if (line.Length > MaxLineLength)
            throw new TrialHostProtocolException($"line of {line.Length} characters exceeds the limit of {MaxLineLength}");
        try
        {
            return JsonSerializer.Deserialize<ITrialHostMessage>(line, Options)
                   ?? throw new TrialHostProtocolException("null instead of a message");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException)
        {
            throw new TrialHostProtocolException($"not a message of protocol {Version}: {e.Message.Split('\n')[0]}");
        }
    }

    private static string Kind(ITrialHostMessage message) => message switch
    {
        RunTrialRequest => "run",
        CancelTrialRequest => "cancel",
        HostReady => "hello",
        HostStartFailed => "start-failed",
        TrialEpochDone => "epoch",
        TrialRunReturned => "result",
        _ => "error",
    };

    private static TrialEpochDone Check(TrialEpochDone message)
    {
        var p = message.Progress;
        if (p is null || p.Epoch < 0 || !IsAccuracy(p.TrainAcc) || !IsAccuracy(p.ValAcc) || !(p.Seconds >= 0))
            throw new TrialHostProtocolException($"epoch report of trial {message.TrialId} is out of range");
        return message;
    }

    private static TrialRunReturned Check(TrialRunReturned message)
    {
        var r = message.Result;
        if (r is null || r.Status is not (TrialStatus.Completed or TrialStatus.Diverged or TrialStatus.Cancelled or TrialStatus.Failed) ||
            !IsAccuracy(r.BestValAcc) || r.BestEpoch < 0 || !(r.Seconds >= 0) || r.TrainAccHistory.IsDefault || r.ValAccHistory.IsDefault ||
            r.ValAccHistory.Any(v => !IsAccuracy(v)) || r.TrainAccHistory.Any(v => !IsAccuracy(v)))
            throw new TrialHostProtocolException($"result of trial {message.TrialId} is out of range");
        return message;
    }

    private static bool IsAccuracy(double value) => value is >= 0 and <= 1;
}
