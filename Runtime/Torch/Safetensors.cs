using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Torch;

/// <summary>
/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length, a JSON header mapping each name to {dtype, shape, data_offsets} (plus an optional
/// string→string <c>__metadata__</c>), then the raw little-endian tensor bytes. Names are written in
/// ordinal order, data packed in that order; the header is space-padded to a multiple of 8 bytes.
/// </summary>
public static class Safetensors
{
    const long MaxHeader = 100_000_000;

    static readonly Dictionary<ScalarType, string> Codes = new()
    {
        [ScalarType.Float32] = "F32", [ScalarType.Float64] = "F64", [ScalarType.Float16] = "F16", [ScalarType.BFloat16] = "BF16",
        [ScalarType.Int64] = "I64", [ScalarType.Int32] = "I32", [ScalarType.Int16] = "I16", [ScalarType.Int8] = "I8",
        [ScalarType.Byte] = "U8", [ScalarType.Bool] = "BOOL",
    };
    static readonly Dictionary<string, ScalarType> Types = Codes.ToDictionary(kv => kv.Value, kv => kv.Key);

    /// <summary>Writes the tensors (copied to the host) to <paramref name="path"/> atomically: a temp file, then a rename.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var bytes = Serialize(tensors, metadata);
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                f.Write(bytes);
                f.Flush(true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>The whole safetensors encoding of the tensors (copied to the host), for callers that write the file themselves.</summary>
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writer assumes a little-endian host");
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (names.Contains("__metadata__")) throw new ArgumentException("'__metadata__' is reserved in safetensors");
        var blobs = new List<byte[]>(names.Count);
        var header = new MemoryStream();
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var name in names)
            {
                var t = tensors[name];
                if (!Codes.TryGetValue(t.dtype, out var code)) throw new NotSupportedException($"safetensors: '{name}' has unsupported dtype {t.dtype}");
                var bytes = t.bytes();
                blobs.Add(bytes);
                w.WriteStartObject(name);
                w.WriteString("dtype", code);
                w.WriteStartArray("shape");
                foreach (var d in t.shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes.Length;
            }
            w.WriteEndObject();
        }
        var json = header.ToArray();
        var padded = (json.Length + 7) / 8 * 8;
        var result = new MemoryStream(8 + padded + blobs.Sum(b => b.Length));
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
        result.Write(len);
        result.Write(json);
        for (var i = json.Length; i < padded; i++) result.WriteByte((byte)' ');
        foreach (var b in blobs) result.Write(b);
        return result.ToArray();
    }

    /// <summary>Reads every tensor (onto <paramref name="device"/>, default cpu). New tensors join the current dispose scope.</summary>
    /// <exception cref="SafetensorsException">the file breaks a rule of the format (see <see cref="ParseHeader"/>).</exception>
    public static Dictionary<string, Tensor> Load(string path, Device? device = null) => Load(path, out _, device);

    /// <inheritdoc cref="Load(string, Device?)"/>
    public static Dictionary<string, Tensor> Load(string path, out Dictionary<string, string> metadata, Device? device = null)
    {
        var data = File.ReadAllBytes(path);
        var (entries, meta, start) = ParseHeader(data, data.Length, path);
        metadata = meta;
        var result = new Dictionary<string, Tensor>();
        try
        {
            // Validated: every range lies inside data, and byte counts match shape × element size exactly.
            foreach (var e in entries)
                result[e.Name] = from_bytes(data.AsSpan((int)(start + e.Begin), (int)(e.End - e.Begin)), e.DType, e.Shape, device);
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>Names, dtypes and shapes in the file, without reading tensor data (the header is validated against the file's length).</summary>
    public static IReadOnlyList<(string name, ScalarType dtype, long[] shape)> Describe(string path)
    {
        var (header, length) = ReadHeaderBytes(path);
        return ParseHeader(header, length, path).entries.Select(e => (e.Name, e.DType, e.Shape)).ToList();
    }

    /// <summary>The file's <c>__metadata__</c> (empty when it has none), without reading tensor data (the header is validated against the file's length).</summary>
    public static Dictionary<string, string> ReadMetadata(string path)
    {
        var (header, length) = ReadHeaderBytes(path);
        return ParseHeader(header, length, path).meta;
    }

    /// <summary>The length prefix and JSON header of a file, without its tensor data, and the file's length.</summary>
    static (byte[] header, long fileLength) ReadHeaderBytes(string path)
    {
        using var f = File.OpenRead(path);
        var len = new byte[8];
        if (f.Length < 8) throw new SafetensorsException(path, null, $"not a safetensors file (shorter than 8 bytes: {f.Length})");
        f.ReadExactly(len);
        var n = BinaryPrimitives.ReadUInt64LittleEndian(len);
        CheckHeaderLength(path, n, f.Length);
        var buf = new byte[8 + (long)n];
        len.CopyTo(buf, 0);
        f.ReadExactly(buf, 8, (int)n);
        return (buf, f.Length);
    }

    static void CheckHeaderLength(string path, ulong n, long fileLength)
    {
        if (n > MaxHeader) throw new SafetensorsException(path, null, $"header length {n} is over the format's limit of {MaxHeader} bytes");
        if (8 + (long)n > fileLength) throw new SafetensorsException(path, null, $"header length {n} runs past the end of the {fileLength}-byte file");
    }

    sealed record Entry(string Name, ScalarType DType, long[] Shape, long Begin, long End);

    /// <summary>
    /// Parses and validates a header as the reference implementation does (huggingface/safetensors,
    /// <c>SafeTensors::read_metadata</c> and <c>Metadata::validate</c>): length prefix at most 100,000,000 and
    /// inside the file; UTF-8 JSON object starting with <c>{</c>; <c>__metadata__</c> string→string; every
    /// tensor a known dtype, a shape of non-negative integers and two non-negative <c>data_offsets</c>; sorted by
    /// offset the tensors are contiguous from 0 (no gap, no overlap); element count × element size computed
    /// without overflow equals each byte range; the last range ends exactly at the end of the file. Names
    /// appearing twice are rejected too (the reference keeps one silently). Alignment of the data is not a
    /// rule (the reference accepts unaligned files; this reader copies every tensor).
    /// </summary>
    /// <param name="data">the length prefix and header (and, for <see cref="Load(string, Device?)"/>, the data).</param>
    /// <param name="fileLength">the whole file's length in bytes.</param>
    /// <exception cref="SafetensorsException">the first rule broken, naming the tensor where there is one.</exception>
    static (List<Entry> entries, Dictionary<string, string> meta, long start) ParseHeader(byte[] data, long fileLength, string path)
    {
        if (data.Length < 8) throw new SafetensorsException(path, null, $"not a safetensors file (shorter than 8 bytes: {data.Length})");
        var n = BinaryPrimitives.ReadUInt64LittleEndian(data);
        CheckHeaderLength(path, n, fileLength);
        var start = 8 + (long)n;
        var header = data.AsMemory(8, (int)n);
        try { StrictUtf8.GetCharCount(header.Span); }
        catch (DecoderFallbackException) { throw new SafetensorsException(path, null, "the header is not valid UTF-8"); }
        if (n == 0 || header.Span[0] != (byte)'{') throw new SafetensorsException(path, null, "the header does not start with '{'");

        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new SafetensorsException(path, null, $"the header is not valid JSON ({e.Message})"); }
        using var owned = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new SafetensorsException(path, null, "the header is not a JSON object");
        var entries = new List<Entry>();
        var meta = new Dictionary<string, string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (!seen.Add(prop.Name)) throw new SafetensorsException(path, prop.Name, "the header names it twice");
            if (prop.Name == "__metadata__") meta = ReadMetadataEntry(path, prop.Value);
            else entries.Add(ReadEntry(path, prop.Name, prop.Value));
        }

        // Contiguous from 0 in offset order, each range the exact size of its tensor.
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long end = 0;
        foreach (var e in entries)
        {
            if (e.Begin != end || e.End < e.Begin)
                throw new SafetensorsException(path, e.Name, $"data_offsets [{e.Begin}, {e.End}] {(e.End < e.Begin ? "end before they begin" : e.Begin > end ? "leave a gap" : "overlap the tensor before")} (the previous tensor ends at {end})");
            end = e.End;
        }
        if (start + end != fileLength)
            throw new SafetensorsException(path, null, $"the tensors' data ends at byte {end} of the buffer but the buffer holds {fileLength - start} bytes (the data must cover it exactly)");
        return (entries, meta, start);
    }

    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    static Dictionary<string, string> ReadMetadataEntry(string path, JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Object) throw new SafetensorsException(path, "__metadata__", "it is not a JSON object of strings");
        var meta = new Dictionary<string, string>();
        foreach (var m in v.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String) throw new SafetensorsException(path, "__metadata__", $"the value of '{m.Name}' is not a string");
            if (!meta.TryAdd(m.Name, m.Value.GetString()!)) throw new SafetensorsException(path, "__metadata__", $"it names '{m.Name}' twice");
        }
        return meta;
    }

    static Entry ReadEntry(string path, string name, JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Object) throw new SafetensorsException(path, name, "its entry is not a JSON object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new SafetensorsException(path, name, "it has no dtype string");
        var code = dt.GetString()!;
        if (!Types.TryGetValue(code, out var dtype))
            throw new SafetensorsException(path, name, FormatOnlyTypes.Contains(code)
                ? $"dtype {code} is valid safetensors but not supported here (supported: {string.Join(", ", Codes.Values)})"
                : $"unknown dtype '{code}' (the format's dtypes: {string.Join(", ", Codes.Values.Concat(FormatOnlyTypes))})");
        var shape = Naturals(path, name, v, "shape", length: null);
        var offs = Naturals(path, name, v, "data_offsets", length: 2);
        long elements = 1, bytes;
        try
        {
            foreach (var d in shape) elements = checked(elements * d);
            bytes = checked(elements * ElementSize(dtype));
        }
        catch (OverflowException)
        {
            throw new SafetensorsException(path, name, $"shape [{string.Join(", ", shape)}] has more bytes than a 64-bit count holds");
        }
        if (offs[1] >= offs[0] && offs[1] - offs[0] != bytes)
            throw new SafetensorsException(path, name, $"data_offsets [{offs[0]}, {offs[1]}] hold {offs[1] - offs[0]} bytes but {code}[{string.Join(", ", shape)}] needs {bytes}");
        return new Entry(name, dtype, shape, offs[0], offs[1]);
    }

    /// <summary>A JSON array of integers in [0, 2^63) (the reference reads them as usize; this reader's sizes are 64-bit signed).</summary>
    static long[] Naturals(string path, string name, JsonElement v, string key, int? length)
    {
        if (!v.TryGetProperty(key, out var a) || a.ValueKind != JsonValueKind.Array)
            throw new SafetensorsException(path, name, $"it has no {key} array");
        var result = new List<long>();
        foreach (var x in a.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out var value) || value < 0)
                throw new SafetensorsException(path, name, $"{key} holds {x.GetRawText()}, not a non-negative integer");
            result.Add(value);
        }
        if (length is { } l && result.Count != l) throw new SafetensorsException(path, name, $"{key} has {result.Count} numbers, not {l}");
        return result.ToArray();
    }

    /// <summary>dtypes of the format (safetensors <c>Dtype</c>) that libtorch tensors of this binding do not hold.</summary>
    static readonly HashSet<string> FormatOnlyTypes = ["U16", "U32", "U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"];
}

/// <summary>
/// A safetensors file that breaks a rule of the format (see <c>Safetensors.ParseHeader</c>): the file, the
/// tensor concerned (null for the header as a whole) and the rule. An <see cref="IOException"/>, so
/// callers that report unreadable files (and the CLI, with exit code 1) treat it as one.
/// </summary>
public sealed class SafetensorsException(string path, string? tensor, string problem)
    : IOException($"{path}: invalid safetensors file: {(tensor is null ? "" : $"tensor '{tensor}': ")}{problem}")
{
    public string Path { get; } = path;
    public string? Tensor { get; } = tensor;
}
