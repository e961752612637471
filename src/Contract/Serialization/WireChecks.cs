using System.Runtime.Serialization;
using Sweep.Contract.Protocol;

namespace Sweep.Contract.Serialization;

/// <summary>
/// Checks a message just read from the wire before any actor sees it: every trial id it carries must pass
/// <see cref="TrialIds"/>. A message that fails is refused like an unreadable one (the transport drops and logs it).
/// </summary>
internal static class WireChecks
{
    public static object Checked(object message)
    {
        var trialId = message switch
        {
            AssignTrial assign => assign.Trial.TrialId,
            TrialRejected rejected => rejected.TrialId,
            TrialEpochReport report => report.TrialId,
            TrialFinished finished => finished.TrialId,
            TrialErrored errored => errored.TrialId,
            TrialOutcomeAcknowledged acknowledged => acknowledged.TrialId,
            CancelTrial cancel => cancel.TrialId,
            CheckpointChunk chunk => chunk.TrialId,
            CheckpointChunkAck ack => ack.TrialId,
            CheckpointChunkRequest request => request.TrialId,
            CheckpointUnavailable unavailable => unavailable.TrialId,
            CheckpointRefused refused => refused.TrialId,
            _ => null,
        };
        if (message is AssignTrial { Resume: { } offer } && !TrialIds.IsValid(offer.FromTrialId))
            throw new SerializationException($"sweep-json: assign-trial offers the checkpoint of an invalid trial id {TrialIds.Describe(offer.FromTrialId)}");
        if (message is CheckpointRefused { FromTrialId: var from } && !TrialIds.IsValid(from))
            throw new SerializationException($"sweep-json: checkpoint-refused names the checkpoint of an invalid trial id {TrialIds.Describe(from)}");
        if (trialId is not null && !TrialIds.IsValid(trialId))
            throw new SerializationException($"sweep-json: {WireManifests.NameOf(message.GetType())} carries an invalid trial id {TrialIds.Describe(trialId)}");
        return message;
    }
}
