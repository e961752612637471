using System.Globalization;
using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace Sweep.Contract.Logging;

/// <summary>
/// One log event as one line: level, time, source, the message's first line and the cause's message. Akka's own
/// loggers print whole stack traces (remoting does, each time a peer such as the coordinator goes away), which tell a
/// user nothing; the node's log keeps one line per event instead.
/// </summary>
public static class OneLineLog
{
    public static string Format(LogEvent e)
    {
        var message = FirstLine(e.Message?.ToString() ?? "");
        var cause = e.Cause is null ? "" : " | " + FirstLine(e.Cause.GetBaseException().Message);
        var level = e.LogLevel().ToString().Replace("Level", "").ToUpperInvariant();
        return $"[{level}][{e.Timestamp.ToString("O", CultureInfo.InvariantCulture)}][{e.LogSource}] {message}{cause}";
    }

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end].TrimEnd();
    }
}

/// <summary>Akka logger that writes <see cref="OneLineLog"/> lines to stdout: a worker node's console log.</summary>
public sealed class OneLineConsoleLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    public OneLineConsoleLogger()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(e => Console.Out.WriteLine(OneLineLog.Format(e)));
    }
}
