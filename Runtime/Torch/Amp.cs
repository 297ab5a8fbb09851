using System.Globalization;
using System.Runtime.InteropServices;

namespace ArchDsl.Torch;

public static partial class torch
{
    /// <summary>Mixed precision: libtorch's autocast switch (as <c>torch.autocast</c>) and a loss scaler (as <c>GradScaler</c>).</summary>
    public static partial class amp
    {
        /// <summary>
        /// <c>using (torch.amp.autocast(DeviceType.CPU, ScalarType.BFloat16)) { ... }</c>: on this thread, libtorch's
        /// autocast for <paramref name="device"/> is on (or off, with <paramref name="enabled"/> false) with
        /// <paramref name="dtype"/> as its low precision until disposed, then restored. Inside, ops on autocast's
        /// lower-precision list (convolutions, linear, matmul, bmm) cast their floating inputs — weights included, once
        /// per region through autocast's cache — to <paramref name="dtype"/>. Disposing the outermost enabled guard
        /// clears the cache, as torch.autocast's exit does.
        /// </summary>
        public static IDisposable autocast(DeviceType device, ScalarType dtype, bool enabled = true) => new AutocastGuard(device, dtype, enabled);

        /// <summary>Switches autocast on <paramref name="device"/> and returns whether it was on (no guard, no cache clearing).</summary>
        public static bool set_autocast_enabled(DeviceType device, ScalarType dtype, bool enabled)
        {
            var was = Native.ats_autocast_set(Code(device), enabled ? 1 : 0, (int)dtype);
            if (was < 0) Native.Check(-1);
            return was == 1;
        }

        /// <summary>Drops the weight casts autocast cached (torch.autocast does this when its outermost region ends).</summary>
        public static void clear_autocast_cache() => Native.Check(Native.ats_autocast_clear_cache());

        /// <summary>
        /// Multiplies every parameter's gradient by <paramref name="inv_scale"/> in place (parameters without one are
        /// skipped) and returns whether any gradient held an inf or NaN before — GradScaler.unscale_'s work.
        /// </summary>
        public static unsafe bool unscale_(IEnumerable<Tensor> parameters, double inv_scale)
        {
            var hs = parameters.Select(p => p.Handle).ToArray();
            int found;
            fixed (IntPtr* p = hs) found = Native.ats_amp_unscale_(p, hs.Length, inv_scale);
            if (found < 0) Native.Check(-1);
            return found == 1;
        }

        static int Code(DeviceType device) => device switch
        {
            DeviceType.CPU => 0,
            DeviceType.CUDA => 1,
            _ => throw new ArgumentException($"autocast supports cpu and cuda, not {device}", nameof(device)),
        };

        sealed class AutocastGuard : IDisposable
        {
            readonly DeviceType _device;
            readonly ScalarType _dtype;
            readonly bool _previous, _enabled;
            bool _done;
            public AutocastGuard(DeviceType device, ScalarType dtype, bool enabled)
            {
                (_device, _dtype, _enabled) = (device, dtype, enabled);
                _previous = set_autocast_enabled(device, dtype, enabled);
            }
            public void Dispose()
            {
                if (_done) return;
                _done = true;
                set_autocast_enabled(_device, _dtype, _previous);
                if (_enabled && !_previous) clear_autocast_cache();
            }
        }
    }
}

/// <summary>
/// Dynamic loss scaling with the semantics of PyTorch's <c>torch.cuda.amp.GradScaler</c> (defaults from its
/// documentation: init_scale 2¹⁶, growth_factor 2, backoff_factor 0.5, growth_interval 2000): the loss is multiplied by
/// <see cref="Scale"/> before backward; <see cref="Step"/> divides the gradients by it and skips the optimizer step when
/// any is inf or NaN; <see cref="Update"/> then halves the scale after a skipped step, or doubles it after
/// <see cref="GrowthInterval"/> finite steps in a row. Its state (<see cref="State"/>) goes into checkpoints so a
/// resumed run scales exactly as an uninterrupted one.
/// </summary>
public sealed class GradScaler
{
    public double Scale { get; private set; }
    public double GrowthFactor { get; }
    public double BackoffFactor { get; }
    public int GrowthInterval { get; }
    /// <summary>Finite steps since the scale last changed (GradScaler's <c>_growth_tracker</c>).</summary>
    public int GrowthTracker { get; private set; }
    /// <summary>Whether the last <see cref="Step"/> found an inf/NaN gradient and skipped the optimizer.</summary>
    public bool LastStepSkipped { get; private set; }

    public GradScaler(double initScale = 65536.0, double growthFactor = 2.0, double backoffFactor = 0.5, int growthInterval = 2000)
    {
        if (!(initScale > 0) || !(growthFactor > 1) || !(backoffFactor is > 0 and < 1) || growthInterval < 1)
            throw new ArgumentException($"GradScaler needs init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1, growth_interval >= 1");
        (Scale, GrowthFactor, BackoffFactor, GrowthInterval) = (initScale, growthFactor, backoffFactor, growthInterval);
    }

    /// <summary>loss · scale (a new tensor); backward of it gives scaled gradients.</summary>
    public torch.Tensor ScaleLoss(torch.Tensor loss) => loss.mul(Scale);

    /// <summary>Unscales the gradients of <paramref name="parameters"/> and runs <paramref name="step"/> unless one was
    /// inf/NaN (GradScaler.step). Gradient clipping belongs in <paramref name="step"/>: it sees unscaled gradients.</summary>
    /// <returns>true when the optimizer stepped</returns>
    public bool Step(IEnumerable<torch.Tensor> parameters, Action step)
    {
        LastStepSkipped = torch.amp.unscale_(parameters, 1.0 / Scale);
        if (!LastStepSkipped) step();
        return !LastStepSkipped;
    }

    /// <summary>GradScaler.update after a <see cref="Step"/>: back off on a skipped step, grow after GrowthInterval good ones.</summary>
    public void Update()
    {
        if (LastStepSkipped)
        {
            Scale *= BackoffFactor;
            GrowthTracker = 0;
        }
        else if (++GrowthTracker == GrowthInterval)
        {
            Scale *= GrowthFactor;
            GrowthTracker = 0;
        }
    }

    /// <summary>The state a checkpoint keeps: scale and growth tracker (as strings, exact round trip).</summary>
    public IReadOnlyDictionary<string, string> State => new Dictionary<string, string>
    {
        ["scale"] = Scale.ToString("R", CultureInfo.InvariantCulture),
        ["growth_tracker"] = GrowthTracker.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Restores <see cref="State"/>.</summary>
    /// <exception cref="FormatException">a value is missing or not a number</exception>
    public void Load(IReadOnlyDictionary<string, string> state)
    {
        if (!state.TryGetValue("scale", out var s) || !double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var scale) || !(scale > 0))
            throw new FormatException($"loss-scaler state has no valid 'scale' (got '{s}')");
        if (!state.TryGetValue("growth_tracker", out var g) || !int.TryParse(g, NumberStyles.Integer, CultureInfo.InvariantCulture, out var tracker) || tracker < 0)
            throw new FormatException($"loss-scaler state has no valid 'growth_tracker' (got '{g}')");
        (Scale, GrowthTracker) = (scale, tracker);
    }
}

internal static unsafe partial class Native
{
    [DllImport(NativeLibraryLocator.LibraryName)] internal static extern int ats_autocast_set(int device, int enabled, int dtype);
    [DllImport(NativeLibraryLocator.LibraryName)] internal static extern int ats_autocast_clear_cache();
    [DllImport(NativeLibraryLocator.LibraryName)] internal static extern int ats_amp_unscale_(IntPtr* ps, int n, double inv_scale);
}
