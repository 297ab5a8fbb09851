using System.Collections.Concurrent;

namespace ArchDsl.Runtime.Data;

/// <summary>
/// The bad-data record of one image folder, shared by every view of it (the training split, a validation split, the
/// statistics pass, the evaluation view): which files could not be decoded (corrupt, truncated, zero bytes, not an
/// image, no read permission) and why. Such a file is skipped — left out of its batch, neither trained on nor
/// evaluated nor replaced — and reported once: the first <see cref="Reported"/> with their path through
/// <see cref="Warn"/>, then one line saying that more are being skipped. A set's figures (accuracy, images trained)
/// count its readable images only.
/// </summary>
public sealed class UnreadableImages
{
    /// <summary>Unreadable files reported one by one; after these, one line says more are being skipped.</summary>
    public const int Reported = 5;

    private readonly ConcurrentDictionary<string, string> _files = new(StringComparer.Ordinal);
    private int _count;

    /// <param name="root">The folder, named in the line that points to <c>archc data inspect</c>.</param>
    public UnreadableImages(string root) => Root = root;

    public string Root { get; }

    /// <summary>Receives each report line (from the decoding threads; the first few files, then one summary line).</summary>
    public Action<string>? Warn { get; set; }

    /// <summary>How many files were found unreadable so far.</summary>
    public int Count => _files.Count;

    public bool Contains(string path) => _files.ContainsKey(path);

    /// <summary>Why <paramref name="path"/> could not be read (null when it was not found unreadable).</summary>
    public string? Reason(string path) => _files.TryGetValue(path, out var why) ? why : null;

    /// <summary>Records an unreadable file (once; a second call for it does nothing) and reports it under the policy above.</summary>
    public void Add(string path, string reason)
    {
        if (!_files.TryAdd(path, reason)) return;
        int n = Interlocked.Increment(ref _count);
        if (n <= Reported) Warn?.Invoke($"warning: skipping an unreadable image (left out, not replaced): {reason}");
        else if (n == Reported + 1)
            Warn?.Invoke($"warning: more unreadable images are being skipped; `archc data inspect {Root}` lists them all");
    }
}
