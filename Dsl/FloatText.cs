using System.Globalization;

namespace ArchDsl.Dsl;

/// <summary>How a float is written for people: as PyTorch and timm show one, so a value reads the same here as there.</summary>
public static class FloatText
{
    /// <summary>
    /// A double as Python's <c>repr</c> writes it, which is how PyTorch and timm show one (<c>LayerNorm((16,), eps=1e-06)</c>):
    /// the shortest digits that parse back to the same bits; fixed-point with at least one decimal (<c>1.0</c>, <c>0.0001</c>,
    /// <c>1e15</c> as <c>1000000000000000.0</c>) when the decimal exponent is in [-4, 16), else a lower-case <c>e</c>, a sign and
    /// at least two exponent digits (<c>1e-05</c>, <c>1e16</c> as <c>1e+16</c>, <c>1.5e+300</c>); <c>-0.0</c>, <c>nan</c>, <c>inf</c>, <c>-inf</c>. Every form but
    /// the non-finite ones is a DSL, YAML 1.2 and JSON number that reads back as a double. The one place doubles are
    /// formatted for display: the compiler's printers, summaries and diffs, diagnostics' messages and the train
    /// configuration's text use it. The inverse of the number literal <see cref="Lexical"/> reads.
    /// </summary>
    public static string Format(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        var (digits, exponent) = ShortestDigits(Math.Abs(d));
        var sign = double.IsNegative(d) ? "-" : "";
        if (exponent is >= -4 and < 16)
        {
            if (exponent < 0) return $"{sign}0.{new string('0', -exponent - 1)}{digits}";
            var whole = digits.PadRight(exponent + 1, '0');
            var fraction = whole.Length > exponent + 1 ? whole[(exponent + 1)..] : "0";
            return $"{sign}{whole[..(exponent + 1)]}.{fraction}";
        }
        var mantissa = digits.Length > 1 ? $"{digits[0]}.{digits[1..]}" : digits;
        return $"{sign}{mantissa}e{(exponent < 0 ? '-' : '+')}{Math.Abs(exponent):00}";
    }

    /// <summary>A float as NumPy writes a float32 (<c>str(np.float32(1e-8))</c> is <c>1e-08</c>): the shortest digits that
    /// parse back to the same float, in <see cref="Format(double)"/>'s form — not the widened double's <c>9.99999993922529e-09</c>.</summary>
    public static string Format(float f) =>
        Format(double.Parse(f.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));

    /// <summary>A double to <paramref name="digits"/> significant digits as Python's <c>format(d, '.6g')</c> writes it (what
    /// PyTorch's printouts use for a rounded figure): <c>0.286041</c>, <c>1e-05</c>, <c>1.5e+07</c>, <c>nan</c>, <c>inf</c>.
    /// .NET's <c>G6</c> chooses fixed or exponent form at the same exponents (-4 ≤ e &lt; digits) and drops trailing
    /// zeros alike; only its exponent is written <c>E-05</c>.</summary>
    public static string Significant(double d, int digits = 6) =>
        double.IsNaN(d) ? "nan" : double.IsInfinity(d) ? (d > 0 ? "inf" : "-inf")
        : d.ToString("G" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).Replace('E', 'e');

    /// <summary>The shortest round-trip decimal digits of a finite <paramref name="d"/> ≥ 0 (no trailing zeros; <c>0</c> for
    /// zero) and the decimal exponent of the first: 1.5e-05 is (<c>15</c>, -5), 120.0 is (<c>12</c>, 2).</summary>
    private static (string Digits, int Exponent) ShortestDigits(double d)
    {
        var r = d.ToString("R", CultureInfo.InvariantCulture); // shortest round-trip: 1.5E-05, 120, 0.0012
        var e = r.IndexOf('E');
        string digits;
        int exponent;
        if (e >= 0)
        {
            digits = r[..e].Replace(".", "");
            exponent = int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }
        else
        {
            var dot = r.IndexOf('.');
            var whole = dot < 0 ? r : r[..dot];
            var fraction = dot < 0 ? "" : r[(dot + 1)..];
            if (whole != "0") { digits = whole + fraction; exponent = whole.Length - 1; }
            else
            {
                var zeros = fraction.Length - fraction.TrimStart('0').Length;
                digits = fraction[zeros..];
                exponent = -(zeros + 1);
            }
        }
        digits = digits.TrimEnd('0');
        return digits.Length == 0 ? ("0", 0) : (digits, exponent);
    }
}
