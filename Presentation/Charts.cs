using System.Globalization;
using ArchDsl.Runtime.Training;
using ScottPlot;

namespace ArchDsl.Presentation;

/// <summary>How a series is drawn.</summary>
public enum SeriesKind
{
    /// <summary>A line through the points (markers too when there are few).</summary>
    Line,
    /// <summary>A thin, faint line: raw values behind their smoothed line.</summary>
    Faint,
    /// <summary>Markers only (e.g. a mean), with optional ±<see cref="Series.YError"/> bars and point labels.</summary>
    Points,
    /// <summary>Small, faint markers: the values a mean was taken over (each seed's).</summary>
    FaintPoints,
    /// <summary>A shaded band between <see cref="Series.Y"/> (lower) and <see cref="Series.Upper"/>.</summary>
    Band,
}

/// <summary>
/// One series of a <see cref="Figure"/>: x and y of equal length, in x order for lines and bands. <paramref name="Color"/>
/// indexes <see cref="Charts.Palette"/>, so a configuration keeps its colour across a report's charts.
/// </summary>
public sealed record Series(string? Label, IReadOnlyList<double> X, IReadOnlyList<double> Y, SeriesKind Kind = SeriesKind.Line, int Color = 0)
{
    /// <summary>The band's upper edge (<see cref="SeriesKind.Band"/>).</summary>
    public IReadOnlyList<double>? Upper { get; init; }
    /// <summary>± error bar per point (<see cref="SeriesKind.Points"/>).</summary>
    public IReadOnlyList<double>? YError { get; init; }
    /// <summary>A label beside each point (<see cref="SeriesKind.Points"/>).</summary>
    public IReadOnlyList<string>? PointLabels { get; init; }
}

/// <summary>
/// A chart as data: what is drawn, independent of the drawing library, so tests compare it with the run's records.
/// <paramref name="Name"/> is the file name without extension; <paramref name="IntegerX"/> puts x ticks on whole
/// numbers only (epochs); <paramref name="CompactX"/> labels x as counts (12.5k, 1.2M); <paramref name="ZeroY"/> starts
/// y at 0 (a rate, whose changes a cut axis would exaggerate); <paramref name="XCategories"/> makes x categorical: the
/// series' x values are indices 0 … n−1 and each is labelled with its category (configurations that a number such as
/// the parameter count would pile into one column).
/// </summary>
public sealed record Figure(string Name, string Title, string XLabel, string YLabel, IReadOnlyList<Series> Series,
    bool IntegerX = false, bool CompactX = false, bool ZeroY = false, IReadOnlyList<string>? XCategories = null);

/// <summary>
/// Draws <see cref="Figure"/>s with ScottPlot 5 (PNG and SVG; text in DejaVu Sans, Debian's fonts-dejavu-core)
/// and writes them atomically. Colours are matplotlib's/D3's category10 so the charts read like PyTorch users' plots.
/// </summary>
public static class Charts
{
    public const int Width = 800, Height = 450;

    public static readonly string[] Palette =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    static Color ColorOf(int index) => Color.FromHex(Palette[((index % Palette.Length) + Palette.Length) % Palette.Length]);

    /// <summary>The ScottPlot plot of <paramref name="figure"/> (its plottables hold exactly the figure's data).</summary>
    public static Plot Build(Figure figure)
    {
        var plot = new Plot();
        plot.Font.Set("DejaVu Sans");
        plot.Title(figure.Title, size: 15);
        plot.XLabel(figure.XLabel, size: 13);
        plot.YLabel(figure.YLabel, size: 13);
        foreach (var s in figure.Series) Add(plot, s);
        if (figure.XCategories is { } categories) Categorical(plot, categories);
        else
        {
            var ticks = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = figure.IntegerX };
            if (figure.CompactX) ticks.LabelFormatter = Compact;
            plot.Axes.Bottom.TickGenerator = ticks;
        }
        if (figure.ZeroY && figure.Series.SelectMany(s => s.Y).Where(double.IsFinite).DefaultIfEmpty(0).Max() is > 0 and var top)
            plot.Axes.SetLimitsY(0, top * 1.08);
        if (figure.XCategories is null && figure.Series.Any(s => s.PointLabels is not null)) plot.Axes.Margins(horizontal: 0.3, vertical: 0.1);   // room for the labels
        if (figure.Series.Any(s => s.Label is not null)) plot.ShowLegend(Edge.Right);   // beside the data, never over it
        return plot;
    }

    /// <summary>One tick per category at x = 0 … n−1, its name as the label (turned when the names would collide).</summary>
    static void Categorical(Plot plot, IReadOnlyList<string> categories)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int i = 0; i < categories.Count; i++) ticks.AddMajor(i, categories[i]);
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.SetLimitsX(-0.5, categories.Count - 0.5);
        int longest = categories.Select(c => c.Length).DefaultIfEmpty(0).Max();
        if (longest * 7 * categories.Count > Width * 0.6)   // ~7 px per character at the tick font: side by side they would overlap
        {
            plot.Axes.Bottom.TickLabelStyle.Rotation = 20;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.UpperLeft;
            plot.Axes.Bottom.MinimumSize = 30 + longest * 3;
        }
    }

    static void Add(Plot plot, Series s)
    {
        var xs = s.X.ToArray();
        var ys = s.Y.ToArray();
        if (xs.Length != ys.Length) throw new ArgumentException($"series '{s.Label}': {xs.Length} x values but {ys.Length} y values");
        var color = ColorOf(s.Color);
        switch (s.Kind)
        {
            case SeriesKind.Band:
                var upper = (s.Upper ?? throw new ArgumentException($"band '{s.Label}' has no upper edge")).ToArray();
                var fill = plot.Add.FillY(xs, ys, upper);
                fill.FillColor = color.WithAlpha(0.18);
                fill.LineWidth = 0;
                if (s.Label is not null) fill.LegendText = s.Label;
                break;
            case SeriesKind.Points or SeriesKind.FaintPoints:
                if (s.YError is { } err)
                {
                    var bars = plot.Add.ErrorBar(xs, ys, err.ToArray());
                    bars.Color = color;
                }
                var points = plot.Add.ScatterPoints(xs, ys);
                points.Color = s.Kind == SeriesKind.FaintPoints ? color.WithAlpha(0.45) : color;
                points.MarkerSize = s.Kind == SeriesKind.FaintPoints ? 5 : 9;
                if (s.Label is not null) points.LegendText = s.Label;
                if (s.PointLabels is { } labels)
                    for (int i = 0; i < Math.Min(labels.Count, xs.Length); i++)
                    {
                        var text = plot.Add.Text(labels[i], xs[i], ys[i]);
                        text.LabelFontSize = 11;
                        text.LabelFontColor = color;
                        text.LabelOffsetX = 6;
                        text.LabelOffsetY = -18;
                    }
                break;
            default:
                var line = plot.Add.ScatterLine(xs, ys);
                bool faint = s.Kind == SeriesKind.Faint;
                line.Color = faint ? color.WithAlpha(0.35) : color;
                line.LineWidth = faint ? 1.5f : 2;
                line.MarkerSize = !faint && xs.Length <= 30 ? 6 : 0;
                if (s.Label is not null) line.LegendText = s.Label;
                break;
        }
    }

    /// <summary>
    /// Writes <c>&lt;name&gt;.png</c> and <c>&lt;name&gt;.svg</c> of <paramref name="figure"/> into <paramref name="dir"/>,
    /// each atomically (a reader never sees half a chart); returns their paths.
    /// </summary>
    public static IReadOnlyList<string> Write(Figure figure, string dir)
    {
        var plot = Build(figure);
        var png = Path.Combine(dir, figure.Name + ".png");
        var svg = Path.Combine(dir, figure.Name + ".svg");
        AtomicFile.WriteAllBytes(png, plot.GetImageBytes(Width, Height, ImageFormat.Png));
        AtomicFile.WriteAllText(svg, plot.GetSvgXml(Width, Height));
        return [png, svg];
    }

    /// <summary>Counts as people read them: 950, 12.5k, 1.2M.</summary>
    public static string Compact(double x)
    {
        var a = Math.Abs(x);
        return a >= 1e9 ? Number(Math.Round(x / 1e9, 2)) + "G"
            : a >= 1e6 ? Number(Math.Round(x / 1e6, 2)) + "M"
            : a >= 1e3 ? Number(Math.Round(x / 1e3, 1)) + "k"
            : Number(Math.Round(x, 2));
    }

    /// <summary>At most 3 decimals, invariant; never "-0".</summary>
    public static string Number(double x)
    {
        var r = Math.Round(x, 3);
        return (r == 0 ? 0.0 : r).ToString("0.###", CultureInfo.InvariantCulture);
    }
}
