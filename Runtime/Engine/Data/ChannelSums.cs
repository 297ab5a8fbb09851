namespace ArchDsl.Runtime.Data;

/// <summary>
/// Running per-channel sum and sum of squares of C×H×W samples' pixel values, in float64, for the normalisation
/// statistics (<see cref="ImageSet.ChannelStatistics"/>). Each sample's channel is summed in pixel order and then added
/// to the totals in the order the samples come, so the result depends on the samples and their order only — not on
/// how many were held at once.
/// </summary>
public sealed class ChannelSums(int channels, int plane)
{
    private readonly double[] _sum = new double[channels];
    private readonly double[] _squares = new double[channels];

    /// <summary>The samples added so far.</summary>
    public int Samples { get; private set; }

    /// <summary>Adds one sample, <c>channels × plane</c> values in C, H, W order.</summary>
    public void Add(ReadOnlySpan<float> sample)
    {
        for (int c = 0; c < channels; c++)
        {
            double s = 0, q = 0;
            foreach (float v in sample.Slice(c * plane, plane)) { s += v; q += (double)v * v; }
            _sum[c] += s;
            _squares[c] += q;
        }
        Samples++;
    }

    /// <summary>
    /// Mean and population standard deviation per channel over the samples added: var = E[x²] − mean² (clamped at 0);
    /// a constant channel (std under 1e-8) gets std 1, so it is centred, not blown up.
    /// </summary>
    /// <exception cref="InvalidOperationException">no sample was added.</exception>
    public Normalization ToNormalization()
    {
        if (Samples == 0) throw new InvalidOperationException("channel statistics of no samples");
        double count = (double)Samples * plane;
        var mean = new double[channels];
        var std = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            mean[c] = _sum[c] / count;
            std[c] = Math.Sqrt(Math.Max(0, _squares[c] / count - mean[c] * mean[c]));
            if (std[c] < 1e-8) std[c] = 1;
        }
        return new Normalization(mean, std);
    }
}
