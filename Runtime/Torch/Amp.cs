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
/// any is inf or NaN; <see cref="Update"/> then multiplies the scale by the backoff factor after a skipped step, or by
/// the growth factor after <see cref="GrowthInterval"/> finite steps in a row. The scale is a float32 value updated as
/// PyTorch's <c>_amp_update_scale_</c> kernel does (aten/src/ATen/native/cuda/AmpKernels.cu: the product rounded to
/// float32; a growth that would make it infinite is not taken). Its state (<see cref="State"/>) goes into checkpoints
/// so a resumed run scales exactly as an uninterrupted one.
/// <para>Beyond GradScaler, which never stops: <see cref="BelowMinimum"/> says when the scale has backed off to
/// <see cref="MinScale"/> or below — fairseq's rule (fairseq/optim/dynamic_loss_scaler.py, <c>--min-loss-scale</c>,
/// default 10⁻⁴: "Minimum loss scale reached … Your loss is probably exploding"), which a trainer takes as the sign that
/// skipping cannot recover (a float16 forward that overflows does so whatever the scale), and <see cref="SkippedSteps"/>
/// counts the steps skipped.</para>
/// </summary>
public sealed class GradScaler
{
    /// <summary>fairseq's default <c>--min-loss-scale</c>; from GradScaler's defaults it is reached by the 30th backoff without growth (2¹⁶·2⁻³⁰ ≈ 6.1·10⁻⁵).</summary>
    public const double DefaultMinScale = 1e-4;

    /// <summary>The current loss scale, a float32 value (GradScaler keeps it in a float32 tensor).</summary>
    public double Scale { get; private set; }
    public double GrowthFactor { get; }
    public double BackoffFactor { get; }
    public int GrowthInterval { get; }
    /// <summary>The scale at or below which <see cref="BelowMinimum"/> holds.</summary>
    public double MinScale { get; }
    /// <summary>Finite steps since the scale last changed (GradScaler's <c>_growth_tracker</c>).</summary>
    public int GrowthTracker { get; private set; }
    /// <summary>Whether the last <see cref="Step"/> found an inf/NaN gradient (or was told of a non-finite loss) and skipped the optimizer.</summary>
    public bool LastStepSkipped { get; private set; }
    /// <summary>Optimizer steps skipped so far (kept in <see cref="State"/>).</summary>
    public long SkippedSteps { get; private set; }
    /// <summary>Whether the scale has backed off to <see cref="MinScale"/> or below (see the class remarks).</summary>
    public bool BelowMinimum => Scale <= MinScale;

    /// <exception cref="ArgumentException">init_scale ≤ 0, growth_factor ≤ 1, backoff_factor outside (0, 1), growth_interval &lt; 1, or min_scale ≥ init_scale.</exception>
    public GradScaler(double initScale = 65536.0, double growthFactor = 2.0, double backoffFactor = 0.5, int growthInterval = 2000,
                      double minScale = DefaultMinScale)
    {
        if (!(initScale > 0) || !(growthFactor > 1) || !(backoffFactor is > 0 and < 1) || growthInterval < 1 || !(minScale >= 0 && minScale < initScale))
            throw new ArgumentException("GradScaler needs init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1, growth_interval >= 1, 0 <= min_scale < init_scale");
        (Scale, GrowthFactor, BackoffFactor, GrowthInterval, MinScale) = ((float)initScale, growthFactor, backoffFactor, growthInterval, minScale);
    }

    /// <summary>loss · scale (a new tensor); backward of it gives scaled gradients.</summary>
    public torch.Tensor ScaleLoss(torch.Tensor loss) => loss.mul(Scale);

    /// <summary>Unscales the gradients of <paramref name="parameters"/> and runs <paramref name="step"/> unless one was
    /// inf/NaN (GradScaler.step) or <paramref name="lossIsFinite"/> is false. GradScaler looks at the gradients only; a
    /// trainer passes the loss too, so that a step whose loss is not a number is never taken even in the rare case where
    /// its gradients are all finite (a logit of −inf under label smoothing). Gradient clipping belongs in
    /// <paramref name="step"/>: it sees unscaled gradients.</summary>
    /// <returns>true when the optimizer stepped</returns>
    public bool Step(IEnumerable<torch.Tensor> parameters, Action step, bool lossIsFinite = true)
    {
        LastStepSkipped = torch.amp.unscale_(parameters, 1.0 / Scale) || !lossIsFinite;
        if (LastStepSkipped) SkippedSteps++;
        else step();
        return !LastStepSkipped;
    }

    /// <summary>GradScaler.update after a <see cref="Step"/>: back off on a skipped step, grow after GrowthInterval good ones.</summary>
    public void Update()
    {
        if (LastStepSkipped)
        {
            Scale = (float)(Scale * BackoffFactor);
            GrowthTracker = 0;
        }
        else if (++GrowthTracker == GrowthInterval)
        {
            var grown = (float)(Scale * GrowthFactor);
            if (float.IsFinite(grown)) Scale = grown;
            GrowthTracker = 0;
        }
    }

    /// <summary>The state a checkpoint keeps: scale, growth tracker and skipped steps (as strings, exact round trip).</summary>
    public IReadOnlyDictionary<string, string> State => new Dictionary<string, string>
    {
        ["scale"] = Scale.ToString("R", CultureInfo.InvariantCulture),
        ["growth_tracker"] = GrowthTracker.ToString(CultureInfo.InvariantCulture),
        ["skipped_steps"] = SkippedSteps.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Restores <see cref="State"/>; a state without <c>skipped_steps</c> (written before they were counted) counts from 0.</summary>
    /// <exception cref="FormatException">a value is missing or not a number</exception>
    public void Load(IReadOnlyDictionary<string, string> state)
    {
        if (!state.TryGetValue("scale", out var s) || !double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var scale) || !(scale > 0))
            throw new FormatException($"loss-scaler state has no valid 'scale' (got '{s}')");
        if (!state.TryGetValue("growth_tracker", out var g) || !int.TryParse(g, NumberStyles.Integer, CultureInfo.InvariantCulture, out var tracker) || tracker < 0)
            throw new FormatException($"loss-scaler state has no valid 'growth_tracker' (got '{g}')");
        long skipped = 0;
        if (state.TryGetValue("skipped_steps", out var k) && (!long.TryParse(k, NumberStyles.Integer, CultureInfo.InvariantCulture, out skipped) || skipped < 0))
            throw new FormatException($"loss-scaler state has no valid 'skipped_steps' (got '{k}')");
        (Scale, GrowthTracker, SkippedSteps) = (scale, tracker, skipped);
    }
}

internal static unsafe partial class Native
{
    [DllImport(NativeLibraryLocator.LibraryName)] internal static extern int ats_autocast_set(int device, int enabled, int dtype);
    [DllImport(NativeLibraryLocator.LibraryName)] internal static extern int ats_autocast_clear_cache();
    [DllImport(NativeLibraryLocator.LibraryName)] internal static extern int ats_amp_unscale_(IntPtr* ps, int n, double inv_scale);
}
