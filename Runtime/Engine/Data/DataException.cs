namespace ArchDsl.Runtime.Data;

/// <summary>
/// A data set could not be found, read or understood. The message is for the user as it stands: it
/// names the path or file involved and, where there is one, what to do about it. Callers print the
/// message, never the stack trace.
/// </summary>
public sealed class DataException : Exception
{
    public DataException(string message) : base(message) { }
    public DataException(string message, Exception inner) : base(message, inner) { }
}
