using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ArchDsl.Runtime.Training;

/// <summary>A run file could not be written or read. The message names the file; print it, not the stack trace.</summary>
public sealed class RunFileException : Exception
{
    public RunFileException(string path, string message, Exception? inner = null) : base(message, inner) => FilePath = path;
    public string FilePath { get; }
}

/// <summary>
/// Whole-file writes that are all-or-nothing: the content goes to a temporary file in the same
/// directory, is flushed to disk, and then replaces the target with one rename. A crash, kill or full
/// disk at any moment leaves either the previous file or the new one, never a mix, and an error
/// removes the temporary file.
/// </summary>
public static class AtomicFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(false);

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { var bytes = Utf8NoBom.GetBytes(text); s.Write(bytes, 0, bytes.Length); });

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes, 0, bytes.Length));

    /// <summary>Writes the file through <paramref name="write"/>; if it throws, the old file stays as it was.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            CreateFolder(dir);
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e)
        {
            TryDelete(tmp);
            if (e is RunFileException) throw;
            throw new RunFileException(full, $"could not write '{full}': {e.Message} (the previous version, if any, is unchanged)", e);
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (Exception) { /* best effort; the original error matters more */ }
    }

    /// <summary>
    /// Creates the folder <paramref name="dir"/> and those above it, as <see cref="Directory.CreateDirectory(string)"/>; a
    /// file where a folder belongs (<c>--runs x</c>, <c>--out x</c>, <c>-o x</c>, <c>--report x</c> naming a file) is said
    /// as such — "'x' is a file, not a folder" — rather than as .NET's "The file 'x' already exists.".
    /// </summary>
    /// <exception cref="IOException">a file is in the way, or the folder cannot be made.</exception>
    public static void CreateFolder(string dir)
    {
        for (var d = Path.GetFullPath(dir); d is not null; d = Path.GetDirectoryName(d))
            if (File.Exists(d)) throw new IOException($"'{d}' is a file, not a folder");
        Directory.CreateDirectory(dir);
    }
}

/// <summary>The records of a metrics log; <see cref="TornLastLine"/> says whether an incomplete last line was skipped.</summary>
public sealed record MetricsLogContents(IReadOnlyList<JsonElement> Records, bool TornLastLine);

/// <summary>
/// An append-only JSON Lines log (<c>metrics.jsonl</c>): one JSON object per line, each line written
/// whole and flushed to disk before <see cref="Append"/> returns. Opening a log whose last line was
/// torn by a crash cuts that partial line off first, so new records start on a line of their own.
/// Non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity".
/// </summary>
public sealed class MetricsLog : IDisposable
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    private readonly FileStream _stream;

    private MetricsLog(string path, FileStream stream) { Path = path; _stream = stream; }

    public string Path { get; }

    /// <summary>Opens (creating if needed) a log for appending.</summary>
    public static MetricsLog Open(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        try
        {
            AtomicFile.CreateFolder(System.IO.Path.GetDirectoryName(full)!);
            var fs = new FileStream(full, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
            long keep = fs.Length;
            if (keep > 0)
            {
                // Cut a torn tail: keep everything up to and including the last newline.
                var buf = new byte[1];
                while (keep > 0)
                {
                    fs.Position = keep - 1;
                    fs.ReadExactly(buf);
                    if (buf[0] == (byte)'\n') break;
                    keep--;
                }
                if (keep != fs.Length) { fs.SetLength(keep); fs.Flush(flushToDisk: true); }
            }
            fs.Position = keep;
            return new MetricsLog(full, fs);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunFileException(full, $"could not open metrics log '{full}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Appends one record (an object or dictionary serialised as one JSON object; a <see cref="MetricRecord"/> in
    /// its own line format) and flushes it to disk.
    /// </summary>
    public void Append<T>(T record)
    {
        byte[] json = record is MetricRecord m
            ? JsonSerializer.SerializeToUtf8Bytes(m, m.GetType(), MetricRecord.Json)
            : JsonSerializer.SerializeToUtf8Bytes(record, JsonOptions);
        if (json.Length == 0 || json[0] != (byte)'{')
            throw new ArgumentException("a metrics record must serialise to a JSON object", nameof(record));
        var line = new byte[json.Length + 1];
        json.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        long before = _stream.Position;
        try
        {
            _stream.Write(line);
            _stream.Flush(flushToDisk: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Leave no partial line behind if the disk filled up mid-write.
            try { _stream.SetLength(before); _stream.Position = before; } catch (Exception) { }
            throw new RunFileException(Path, $"could not append to '{Path}': {e.Message}", e);
        }
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>
    /// Reads a log. A last line without its newline that does not parse (a torn write) is skipped and
    /// reported; a bad line anywhere else is an error naming the file and line.
    /// </summary>
    public static MetricsLogContents Read(string path)
    {
        string full = System.IO.Path.GetFullPath(path);
        byte[] data;
        try { data = File.ReadAllBytes(full); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunFileException(full, $"could not read metrics log '{full}': {e.Message}", e);
        }
        var records = new List<JsonElement>();
        bool torn = false;
        int start = 0, lineNo = 0;
        while (start < data.Length)
        {
            lineNo++;
            int nl = Array.IndexOf(data, (byte)'\n', start);
            bool last = nl < 0;
            int end = last ? data.Length : nl;
            var line = data.AsMemory(start, end - start);
            start = end + 1;
            if (line.Span.Trim((byte)'\r').Trim((byte)' ').IsEmpty) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("not a JSON object");
                records.Add(doc.RootElement.Clone());
            }
            catch (JsonException e)
            {
                if (last) { torn = true; break; }
                throw new RunFileException(full, $"'{full}' line {lineNo} is not a JSON object: {e.Message}", e);
            }
        }
        return new MetricsLogContents(records, torn);
    }
}
