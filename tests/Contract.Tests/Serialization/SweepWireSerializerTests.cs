using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Sweep.Contract.Configuration;
using Sweep.Contract.Protocol;
using Sweep.Contract.Serialization;
using Sweep.Search.Engine;
using Sweep.Search.Serialization;
using Sweep.Search.Spaces;
using Sweep.Search.Specs;
using Sweep.Search.Trials;

namespace Sweep.Contract.Tests.Serialization;

/// <summary>
/// Every message, event and snapshot goes through the real Akka serialization extension and back, bound by the
/// embedded reference.conf alone.
/// </summary>
public sealed class SweepWireSerializerTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("serialization-test",
        ConfigurationFactory.ParseString("akka.actor.provider = local").WithFallback(SweepConfig.Reference()));

    private static readonly TrialResult Result = new(TrialStatus.Completed, 0.51, 2, [0.4, 0.6], [0.45, 0.51], 1.23, 12.5,
        "checkpoints/s1-t0001.pt", "akka.tcp://sweep@127.0.0.1:4100/user/worker");

    private static IEnumerable<object> Samples()
    {
        var spec = new SweepSpec
        {
            Name = "wire-test",
            Seed = 3,
            Data = new DataSpec("data", 300, 100),
            Model = "fc",
            Fixed = TrialConfig.From(("hidden_dims", ParamValue.Of([30]))),
            Space = new SearchSpace([new FloatRange("learning_rate", 1e-4, 1e-2, log: true), new Choice("update_rule", [ParamValue.Of("adam"), ParamValue.Of("sgd")])]),
            Stages = [new StageSpec(3, 1, 300), new StageSpec(1, 2, 300, TopK: 1)],
            Checkpoints = new CheckpointSpec(2, CheckpointKeep.None, ContinueCarryOver: false),
        };
        var engine = new SweepEngine();
        var started = engine.Start(spec);
        var state = SweepState.Empty;
        foreach (var e in started) state = state.Apply(e);
        var trial = state.Trials.Values.OrderBy(t => t.Ordinal).First().Spec;
        var worker = "akka.tcp://sweep@127.0.0.1:4100/user/worker";
        var dispatched = new TrialDispatched(trial.TrialId, worker, 1, DateTimeOffset.Parse("2026-11-23T10:00:00Z"));
        state = state.Apply(dispatched);
        var epoch = new TrialEpochReported(trial.TrialId, 1, 2.1, 0.3, 0.28);
        state = state.Apply(epoch);
        // The snapshot carries a stored checkpoint and a resume point too.
        state = state.Apply(new TrialCheckpointed(trial.TrialId, 1, new string('d', 64), 1234));

        yield return new RegisterWorker(worker, "akka.tcp://sweep@127.0.0.1:4100", 2, "cpu");
        yield return new WorkerRegistered(worker, "cluster-test");
        yield return new RegistrationRequired(worker);
        yield return new RequestTrials(worker, 2, 5);
        yield return new AssignTrial(trial);
        yield return new AssignTrial(trial, 2, new CheckpointOffer(trial.TrialId, 3, 40_000_000, new string('a', 64)));
        yield return new CheckpointChunk(worker, trial.TrialId, 3, 65_536, 40_000_000, new string('b', 64), [0, 1, 2, 255, 128]);
        yield return new CheckpointChunkAck(trial.TrialId, 3, 131_072);
        yield return new CheckpointChunkAck(trial.TrialId, 3, 0, Accepted: false);
        yield return new CheckpointChunkRequest(worker, trial.TrialId, 3, 65_536);
        yield return new CheckpointUnavailable(trial.TrialId, 3);
        yield return new CheckpointRefused(worker, trial.TrialId, "s1-t0002", 3, "it fails its SHA-256 checksum");
        yield return new TrialRejected(worker, trial.TrialId);
        yield return new TrialEpochReport(worker, trial.TrialId, 1, 2.1, 0.3, 0.28, 4.5);
        yield return new TrialFinished(worker, trial.TrialId, Result);
        yield return new TrialErrored(worker, trial.TrialId, "InvalidOperationException: boom");
        yield return new TrialErrored(worker, trial.TrialId, "configuration error in parameter 'groups': groups 3", Final: true);
        yield return new TrialOutcomeAcknowledged(trial.TrialId);
        yield return new CancelTrial(trial.TrialId, "timed out after 60 s");
        yield return new GetSweepStatus();
        yield return new SweepStatus(state.Progress(DateTimeOffset.Parse("2026-11-23T10:00:30Z")), 2, 3);
        yield return new CoordinatorUnavailable(DateTimeOffset.Parse("2026-11-23T10:01:00Z"), "SQLite Error 8: 'attempt to write a readonly database'");
        yield return new CoordinatorSnapshot(state);
        foreach (var e in started)
            yield return e;
        yield return dispatched;
        yield return epoch;
        yield return new TrialCompleted(trial.TrialId, Result);
        yield return new TrialFailed(trial.TrialId, "timed out", 1, true);
        yield return new TrialCompleted(trial.TrialId, Result, DateTimeOffset.Parse("2026-11-23T10:01:00Z"));
        yield return new TrialFailed(trial.TrialId, "timed out", 1, true, DateTimeOffset.Parse("2026-11-23T10:01:00Z"));
        yield return new TrialRequeued(trial.TrialId, "worker lost");
        yield return new StageCompleted(1);
        yield return new SweepCompleted();
        yield return new TrialCheckpointed(trial.TrialId, 1, new string('c', 64), 40_000_000);
        yield return new TrialResumed(trial.TrialId, "s1-t0002", 1);
        yield return new TrialResumeAbandoned(trial.TrialId, "s1-t0002", 1, "it fails its SHA-256 checksum");
        yield return new CheckpointDiscarded(trial.TrialId, trial.TrialId, 1, "checksum mismatch");
        yield return new TrialTested(trial.TrialId, 0.52, 1000, DateTimeOffset.Parse("2026-11-23T10:02:00Z"));
        yield return new TrialPruned(trial.TrialId, 2, "best val 0.3500 after epoch 2 is below the median 0.4500 of 3 stage peer(s)", DateTimeOffset.UnixEpoch);
        yield return new StagePlanned(2, [trial.TrialId]);
        yield return new TrialPaused(trial.TrialId, 1, Result, DateTimeOffset.Parse("2026-11-23T10:03:00Z"));
        yield return new TrialPromoted(trial.TrialId, 0, "val 0.4500 at rung 0 (epoch 1) ranks 1 of 4 trial(s) there; the top 1 go on");
        yield return new TrialsPlanned(1, [trial]);
    }

    public static IEnumerable<object[]> AllSamples() => Samples().Select(s => new[] { s });

    [Theory]
    [MemberData(nameof(AllSamples))]
    public void Round_trips_through_the_akka_serialization_extension_with_a_stable_manifest(object message)
    {
        var serialization = _system.Serialization;
        var serializer = serialization.FindSerializerFor(message);
        Assert.IsType<SweepWireSerializer>(serializer);

        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        Assert.Equal(WireManifests.NameOf(message.GetType()), manifest);
        Assert.DoesNotContain(".", manifest);

        var bytes = serializer.ToBinary(message);
        // No payload names a CLR type: only the manifest says what the bytes are.
        Assert.DoesNotContain("Sweep.", System.Text.Encoding.UTF8.GetString(bytes));
        Assert.DoesNotContain("$type", System.Text.Encoding.UTF8.GetString(bytes));
        var back = serialization.Deserialize(bytes, serializer.Identifier, manifest);

        Assert.IsType(message.GetType(), back);
        // Records compare by value where they can; the JSON text covers those holding collections.
        Assert.Equal(SweepJson.Serialize<object>(message), SweepJson.Serialize<object>(back));
        if (message is not (CoordinatorSnapshot or SweepStatus or StageStarted or SweepStarted))
            Assert.Equal(message, back);
    }

    [Fact]
    public void Every_message_and_event_type_has_a_sample_and_a_manifest()
    {
        var sampled = Samples().Select(s => s.GetType()).ToHashSet();
        var wireTypes = typeof(ISweepWire).Assembly.GetTypes()
            .Concat(typeof(ISweepEvent).Assembly.GetTypes())
            .Where(t => !t.IsAbstract && !t.IsInterface && (typeof(ISweepWire).IsAssignableFrom(t) || typeof(ISweepEvent).IsAssignableFrom(t)))
            .ToList();
        Assert.NotEmpty(wireTypes);
        foreach (var type in wireTypes)
        {
            Assert.Contains(type, sampled);
            Assert.NotNull(WireManifests.NameOf(type));
        }
        Assert.Equal(WireManifests.All.Count, WireManifests.All.Values.Distinct().Count());
    }

    [Fact]
    public void An_unknown_manifest_is_a_clear_error()
    {
        var serializer = _system.Serialization.FindSerializerForType(typeof(GetSweepStatus));
        var error = Assert.ThrowsAny<Exception>(() => _system.Serialization.Deserialize([], serializer.Identifier, "no-such-thing"));
        Assert.Contains("no-such-thing", error.GetBaseException().Message);
    }

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));
}
