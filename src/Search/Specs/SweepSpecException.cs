namespace Sweep.Search.Specs;

/// <summary>A sweep spec that cannot be used; the message is one line naming the key, the value and what is allowed.</summary>
public sealed class SweepSpecException : Exception
{
    public SweepSpecException(string message) : base(SpecMessageText.Safe(message)) { }

    public SweepSpecException(string message, Exception inner) : base(SpecMessageText.Safe(message), inner) { }
}
