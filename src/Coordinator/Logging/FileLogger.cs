using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;
using Sweep.Contract.Configuration;
using Sweep.Contract.Logging;

namespace Sweep.Coordinator.Logging;

/// <summary>
/// Akka logger that appends log lines to the file named by <c>sweep.node.log-file</c>, so that a node drawing live
/// progress on the console (`run`, `resume`, `coordinator`) keeps its cluster chatter in runs/NAME.coordinator.log.
/// </summary>
public sealed class FileLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private readonly StreamWriter _writer;

    public FileLogger()
    {
        var path = NodeSettings.Create(Context.System.Settings.Config).LogFile;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _writer = new StreamWriter(path, append: true) { AutoFlush = true };
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(e => _writer.WriteLine(OneLineLog.Format(e)));
    }

    protected override void PostStop()
    {
        _writer.Dispose();
        base.PostStop();
    }
}
