namespace ArchDsl.Torch;

public enum DeviceType { CPU = 0, CUDA = 1 }

public static partial class torch
{
    /// <summary>Element types; the values are libtorch's c10::ScalarType codes (as in TorchSharp).</summary>
    public enum ScalarType : sbyte
    {
        Byte = 0, Int8 = 1, Int16 = 2, Int32 = 3, Int64 = 4, Float16 = 5, Float32 = 6, Float64 = 7,
        ComplexFloat32 = 9, ComplexFloat64 = 10, Bool = 11, BFloat16 = 15,
    }

    /// <summary>
    /// How a tensor's elements lie in memory; the values are c10::MemoryFormat's. <c>ChannelsLast</c> stores a
    /// <c>[N, C, H, W]</c> tensor as NHWC (the shape stays NCHW), the layout oneDNN's CPU convolutions are fastest in.
    /// </summary>
    public enum memory_format { Contiguous = 0, Preserve = 1, ChannelsLast = 2, ChannelsLast3d = 3 }

    public const memory_format contiguous_format = memory_format.Contiguous;
    public const memory_format channels_last = memory_format.ChannelsLast;

    public const ScalarType float32 = ScalarType.Float32;
    public const ScalarType float64 = ScalarType.Float64;
    public const ScalarType float16 = ScalarType.Float16;
    public const ScalarType bfloat16 = ScalarType.BFloat16;
    public const ScalarType int64 = ScalarType.Int64;
    public const ScalarType int32 = ScalarType.Int32;
    public const ScalarType int8 = ScalarType.Int8;
    public const ScalarType uint8 = ScalarType.Byte;
    public const ScalarType @bool = ScalarType.Bool;

    /// <summary>A device: <c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>.</summary>
    public sealed record Device(DeviceType type, int index = -1)
    {
        /// <summary>Reads <c>cpu</c>, <c>cuda</c> or <c>kind:N</c> (N a non-negative decimal index), as torch.device does.</summary>
        /// <exception cref="ArgumentException">any other text, including an index that is not such a number (<c>cuda:x</c>, <c>cuda:-1</c>).</exception>
        public static Device Parse(string s) => TryParse(s, out var why) ?? throw new ArgumentException(why);

        /// <summary>As <see cref="Parse"/>, for a device a user typed: null and <paramref name="why"/> (the same message) when it names no device.</summary>
        public static Device? TryParse(string s, out string? why)
        {
            var text = s.Trim().ToLowerInvariant();
            var colon = text.IndexOf(':');
            var kind = colon < 0 ? text : text[..colon];
            int index = -1;
            why = null;
            if (colon >= 0 && !int.TryParse(text[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index))
                why = $"unknown device '{s}' (expected cpu, cuda or cuda:N, N a device index 0, 1, …)";
            else if (kind is not ("cpu" or "cuda"))
                why = $"unknown device '{s}' (expected cpu, cuda or cuda:N)";
            return why is not null ? null : new Device(kind == "cpu" ? DeviceType.CPU : DeviceType.CUDA, index);
        }

        public override string ToString() => (type == DeviceType.CPU ? "cpu" : "cuda") + (index >= 0 ? ":" + index : "");
        public static implicit operator Device(string s) => Parse(s);
    }

    public static readonly Device CPU = new(DeviceType.CPU);
    public static readonly Device CUDA = new(DeviceType.CUDA);
    public static Device device(string name) => Device.Parse(name);
    public static Device device(DeviceType type, int index = -1) => new(type, index);

    internal static ScalarType DTypeOf<T>() =>
        typeof(T) == typeof(float) ? ScalarType.Float32 :
        typeof(T) == typeof(double) ? ScalarType.Float64 :
        typeof(T) == typeof(long) ? ScalarType.Int64 :
        typeof(T) == typeof(int) ? ScalarType.Int32 :
        typeof(T) == typeof(short) ? ScalarType.Int16 :
        typeof(T) == typeof(sbyte) ? ScalarType.Int8 :
        typeof(T) == typeof(byte) ? ScalarType.Byte :
        typeof(T) == typeof(bool) ? ScalarType.Bool :
        typeof(T) == typeof(Half) ? ScalarType.Float16 :
        throw new NotSupportedException($"no tensor element type for {typeof(T)}");

    internal static bool IsFloating(ScalarType t) =>
        t is ScalarType.Float16 or ScalarType.Float32 or ScalarType.Float64 or ScalarType.BFloat16;

    public static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        _ => throw new NotSupportedException(t.ToString()),
    };
}
