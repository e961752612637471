namespace Sweep.Models.Data;

/// <summary>
/// CIFAR-10 could not be read, found or downloaded. The message is one line that names the file or
/// directory involved and says how to fix it, so that a CLI can print it as is.
/// </summary>
public sealed class CifarDataException : Exception
{
    public CifarDataException(string message) : base(message) { }

    public CifarDataException(string message, Exception inner) : base(message, inner) { }
}
