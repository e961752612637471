using Akka.Actor;
using Akka.Configuration;
using Sweep.Contract.Cli;
using Sweep.Contract.Configuration;
using Sweep.Contract.Nodes;
using Sweep.Contract.Protocol;
using Sweep.Coordinator.Actors;
using Sweep.Coordinator.LocalWorkers;
using Sweep.Coordinator.Logging;
using Sweep.Coordinator.Nodes;
using Sweep.Coordinator.Persistence;
using Sweep.Search.Engine;
using Sweep.Search.Reporting;
using Sweep.Search.Specs;

namespace Sweep.Coordinator.Cli;

/// <summary>What a coordinator-side command asks for, fully validated.</summary>
/// <param name="Spec">The sweep to start; null continues the journal's sweep.</param>
/// <param name="DataDirectory">CIFAR-10 folder for the local workers (null when there are none).</param>
internal sealed record SessionPlan(
    SweepSpec? Spec,
    JournalLocation Journal,
    int LocalWorkers,
    string? WorkerDll,
    string? DataDirectory,
    ClusterNodeOptions Node,
    TimeSpan JoinTimeout);

/// <summary>
/// Runs a coordinator node for one sweep until the sweep completes (or the user interrupts it): creates the
/// journal, starts the node and the local worker processes, draws progress, and prints the leaderboard read
/// back from the journal. Everything that could be wrong with the input is checked before it is called.
/// </summary>
internal static class SweepSession
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(700);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(SessionPlan plan)
    {
        using var interrupted = new StopSignals();

        var live = !Console.IsOutputRedirected;
        var createdJournal = plan.Journal.CreateIfMissing();
        using var journalLock = LockOrUndo(plan.Journal, createdJournal);
        var runsFolder = plan.Journal.SqliteFile is { } file ? Path.GetDirectoryName(file)! : Path.GetFullPath("runs");
        var name = plan.Journal.SideFileStem;
        var logFile = Path.Combine(runsFolder, name + ".coordinator.log");
        // The console shows progress; the node's own log (cluster membership, lost workers) goes to a file.
        var logging = ConfigurationFactory.ParseString(string.Join("\n",
            $"akka.loggers = {SweepConfig.QuoteList([typeof(FileLogger).AssemblyQualifiedName!])}",
            "akka.loglevel = INFO",
            "akka.stdout-loglevel = ERROR",
            $"sweep.node.log-file = {SweepConfig.Quote(logFile)}"));
        var config = SweepConfig.Load();
        CoordinatorNode node;
        try
        {
            node = await CoordinatorNode.StartAsync(plan.Node, plan.Journal, plan.Spec, CoordinatorSettings.Create(config), plan.JoinTimeout, logging);
        }
        catch when (createdJournal)
        {
            // The node never joined, so nothing was journaled: leave no empty journal behind.
            plan.Journal.Delete();
            throw;
        }
        LocalWorkerPool? workers = null;
        var followed = new ProgressView.Outcome(false, null);
        try
        {
            Console.WriteLine($"sweep: coordinator at {node.Address} (journal {plan.Journal.Display}, log {logFile})");
            if (plan.LocalWorkers > 0)
            {
                workers = LocalWorkerPool.Start(plan.LocalWorkers, plan.WorkerDll!, node.Address.ToString(), plan.DataDirectory!,
                    Path.Combine(runsFolder, name + ".workers"), Path.Combine(runsFolder, name + ".worker-checkpoints"));
                Console.WriteLine($"sweep: started {plan.LocalWorkers} local worker(s); logs in {Path.GetDirectoryName(workers.LogFiles[0])}");
            }
            // A lost journal lock (another coordinator took the journal during a database outage) stops this one.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(interrupted.Token, journalLock.Lost);
            followed = await ProgressView.FollowAsync(node.Proxy, workers, live, PollInterval,
                CoordinatorRestartSettings.Create(config).GiveUpAfter, stop.Token);
        }
        finally
        {
            workers?.Dispose();
            // Akka's remoting reports its own shutdown after the file logger has stopped, through its
            // fallback console logger; the node log already has everything, so keep the console clean.
            var console = Console.Out;
            Console.SetOut(TextWriter.Null);
            try
            {
                await node.DisposeAsync();
            }
            finally
            {
                Console.SetOut(console);
            }
        }

        if (journalLock.LostReason is { } lost)
        {
            Console.Error.WriteLine($"sweep: {lost}; this coordinator stopped writing to it; follow the sweep with ./sweep status --journal {plan.Journal.Argument}");
            return ExitCodes.Unfinished;
        }
        if (followed.JournalOutage is { } outage)
        {
            // The journal cannot be written, and may not be readable either: no leaderboard, only what to do.
            Console.Error.WriteLine(
                $"sweep: journal {plan.Journal.Display} could not be written for {DisplayText.Duration(DateTimeOffset.UtcNow - outage.Since)} ({outage.Reason}); " +
                $"gave up, keeping every event stored before; once it is writable again continue with ./sweep resume --journal {plan.Journal.Argument}");
            return ExitCodes.Unfinished;
        }
        var completed = followed.Completed;
        var state = await JournalReader.ReadStateAsync(plan.Journal, ReadTimeout);
        Console.WriteLine();
        Console.WriteLine(Leaderboard.From(state).ToTable());
        if (workers is not null)
            Console.WriteLine($"sweep: local worker restarts: {workers.Restarts} (limit {LocalWorkerPool.RestartsPerWorker} per worker); " +
                              $"trials hit by a trial-process crash: {state.Trials.Values.Count(t => TrialProcessFailure.IsProcessFailure(t.FailureReason))}");
        if (completed)
        {
            Console.WriteLine($"sweep: '{state.Spec?.Name}' complete: {state.Counts}");
            return ExitCodes.Success;
        }
        Console.Error.WriteLine(interrupted.IsCancellationRequested
            ? $"sweep: interrupted; continue with ./sweep resume --journal {plan.Journal.Argument}"
            : $"sweep: stopped before the sweep finished; continue with ./sweep resume --journal {plan.Journal.Argument}");
        return interrupted.IsCancellationRequested ? ExitCodes.Interrupted : ExitCodes.Unfinished;
    }

    /// <summary>One coordinator per journal: a second one stops here, before it starts a node or any worker.</summary>
    private static JournalLock LockOrUndo(JournalLocation journal, bool createdJournal)
    {
        try
        {
            return JournalLock.Acquire(journal);
        }
        catch when (createdJournal)
        {
            journal.Delete();
            throw;
        }
    }

    /// <summary>
    /// The sweep a journal holds (Empty when it has none or does not exist yet); checks an existing journal is
    /// readable, or that a new one can be created, without writing anything.
    /// </summary>
    public static async Task<SweepState> InspectJournalAsync(JournalLocation journal)
    {
        if (journal.Exists)
            return await JournalReader.ReadStateAsync(journal, ReadTimeout);
        journal.CheckCreatable();
        return SweepState.Empty;
    }
}
