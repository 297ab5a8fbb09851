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
    public static Dictionary<string, Tensor> Load(string path, Device? device = null) => Load(path, out _, device);

    public static Dictionary<string, Tensor> Load(string path, out Dictionary<string, string> metadata, Device? device = null)
    {
        var data = File.ReadAllBytes(path);
        var (entries, meta, start) = ParseHeader(data, path);
        metadata = meta;
        var result = new Dictionary<string, Tensor>();
        try
        {
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

    /// <summary>Names, dtypes and shapes in the file, without reading tensor data.</summary>
    public static IReadOnlyList<(string name, ScalarType dtype, long[] shape)> Describe(string path) =>
        ParseHeader(ReadHeaderBytes(path), path, checkData: false).entries.Select(e => (e.Name, e.DType, e.Shape)).ToList();

    /// <summary>The file's <c>__metadata__</c> (empty when it has none), without reading tensor data.</summary>
    public static Dictionary<string, string> ReadMetadata(string path) => ParseHeader(ReadHeaderBytes(path), path, checkData: false).meta;

    /// <summary>The length prefix and JSON header of a file, without its tensor data.</summary>
    static byte[] ReadHeaderBytes(string path)
    {
        using var f = File.OpenRead(path);
        var len = new byte[8];
        f.ReadExactly(len);
        var n = BinaryPrimitives.ReadUInt64LittleEndian(len);
        if (n > MaxHeader || 8 + (long)n > f.Length) throw new InvalidDataException($"{path}: safetensors header length {n} exceeds the file");
        var buf = new byte[8 + (long)n];
        len.CopyTo(buf, 0);
        f.ReadExactly(buf, 8, (int)n);
        return buf;
    }

    sealed record Entry(string Name, ScalarType DType, long[] Shape, long Begin, long End);

    static (List<Entry> entries, Dictionary<string, string> meta, long start) ParseHeader(byte[] data, string path, bool checkData = true)
    {
        try { return ParseHeaderUnchecked(data, path, checkData); }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or OverflowException)
        {
            throw new InvalidDataException($"{path}: malformed safetensors header ({e.Message})", e);
        }
    }

    static (List<Entry> entries, Dictionary<string, string> meta, long start) ParseHeaderUnchecked(byte[] data, string path, bool checkData)
    {
        if (data.Length < 8) throw new InvalidDataException($"{path}: not a safetensors file (shorter than 8 bytes)");
        var n = BinaryPrimitives.ReadUInt64LittleEndian(data);
        if (n > MaxHeader || 8 + (long)n > data.Length) throw new InvalidDataException($"{path}: safetensors header length {n} exceeds the file");
        var start = 8 + (long)n;
        var entries = new List<Entry>();
        var meta = new Dictionary<string, string>();
        using var doc = JsonDocument.Parse(data.AsMemory(8, (int)n));
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                foreach (var m in prop.Value.EnumerateObject()) meta[m.Name] = m.Value.GetString() ?? "";
                continue;
            }
            var v = prop.Value;
            var code = v.GetProperty("dtype").GetString() ?? "";
            if (!Types.TryGetValue(code, out var dtype)) throw new InvalidDataException($"{path}: '{prop.Name}' has unsupported dtype {code}");
            var shape = v.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var offs = v.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            if (offs.Length != 2 || offs[0] < 0 || offs[1] < offs[0]) throw new InvalidDataException($"{path}: '{prop.Name}' has bad data_offsets");
            var expected = shape.Aggregate(1L, (a, b) => a * b) * ElementSize(dtype);
            if (offs[1] - offs[0] != expected)
                throw new InvalidDataException($"{path}: '{prop.Name}' holds {offs[1] - offs[0]} bytes but {code}[{string.Join(", ", shape)}] needs {expected}");
            if (checkData && start + offs[1] > data.Length) throw new InvalidDataException($"{path}: '{prop.Name}' runs past the end of the file");
            entries.Add(new Entry(prop.Name, dtype, shape, offs[0], offs[1]));
        }
        return (entries, meta, start);
    }
}
