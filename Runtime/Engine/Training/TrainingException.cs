using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("ArchDsl.Runtime.Tests")]

namespace ArchDsl.Runtime.Training;

/// <summary>
/// Training cannot start or go on: bad input (missing data, a corrupt or mismatched checkpoint), a
/// non-finite loss, a file that could not be written. The message says what and where, for the user
/// as it stands; print it, never the stack trace. Whatever was saved before stays intact.
/// </summary>
public sealed class TrainingException : Exception
{
    public TrainingException(string message, Exception? inner = null) : base(message, inner) { }
}
