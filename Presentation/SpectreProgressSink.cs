using System.Globalization;
using ArchDsl.Runtime.Training;
using Spectre.Console;

namespace ArchDsl.Presentation;

/// <summary>
/// A live Spectre.Console display for a terminal: one progress bar per epoch whose label carries the
/// running loss, accuracy, images/s and the epoch's evaluation once done, with Spectre's remaining-time
/// column as the ETA. The display runs on its own thread (Spectre's live renderer owns the console while
/// it is up); the trainer's calls only update the tasks. Messages during the run become finished rows.
/// </summary>
public sealed class SpectreProgressSink : IProgressSink, IDisposable
{
    private readonly IAnsiConsole _console;
    private readonly ManualResetEventSlim _ready = new(false);
    private readonly ManualResetEventSlim _finish = new(false);
    private Thread? _thread;
    private ProgressContext? _context;
    private ProgressTask? _task;
    private RunStartInfo? _info;

    public SpectreProgressSink(IAnsiConsole? console = null) => _console = console ?? AnsiConsole.Console;

    /// <summary>A Spectre bar on a terminal, plain lines when output is redirected (CI, pipes, files).</summary>
    public static IProgressSink ForConsole() =>
        Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive
            ? new PlainProgressSink(Console.Out)
            : new SpectreProgressSink();

    private static string Pct(double? v) => v is double d && !double.IsNaN(d) ? (100 * d).ToString("0.00", CultureInfo.InvariantCulture) + "%" : "-";
    private static string F(double v, string format = "0.0000") => double.IsNaN(v) ? "-" : v.ToString(format, CultureInfo.InvariantCulture);

    public void RunStarted(RunStartInfo i)
    {
        _info = i;
        _console.MarkupLine($"[bold]{(i.Resumed ? "Resuming" : "Training")}[/] {Markup.Escape(i.Arch)} ({Throughput.Count(i.Parameters)} parameters) on {Markup.Escape(i.Device)} " +
                            $"with {i.Threads} thread(s) → [blue]{Markup.Escape(i.RunDir)}[/]");
        _console.MarkupLine(Markup.Escape("  " + i.DescribeData()));
        _thread = new Thread(() =>
        {
            try
            {
                _console.Progress()
                    .AutoRefresh(true).AutoClear(false).HideCompleted(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                             new RemainingTimeColumn(), new SpinnerColumn())
                    .Start(ctx =>
                    {
                        _context = ctx;
                        _ready.Set();
                        _finish.Wait();
                    });
            }
            finally { _ready.Set(); }
        }) { IsBackground = true, Name = "progress display" };
        _thread.Start();
        _ready.Wait();
    }

    public void EpochStarted(int epoch, int epochs, int batches, int startBatch)
    {
        if (_context is null) return;
        _task = _context.AddTask(Markup.Escape($"epoch {epoch}/{epochs}"), maxValue: batches);
        _task.Value = startBatch;
    }

    public void StepCompleted(StepInfo s)
    {
        if (_task is null) return;
        _task.Value = s.Batch;
        _task.Description = Markup.Escape($"epoch {s.Epoch}/{s.Epochs}  loss {F(s.EpochLoss)}  acc {Pct(s.EpochAccuracy)}  {Throughput.Count(s.ImagesPerSecond)} img/s");
    }

    public void Evaluating(int epoch, string set, int samples)
    {
        if (_task is null) return;
        _task.Description += Markup.Escape($"  evaluating on {set}…");
    }

    public void EpochCompleted(EpochInfo e)
    {
        if (_task is null) return;
        _task.Value = _task.MaxValue;
        _task.Description = Markup.Escape($"epoch {e.Epoch}/{e.Epochs}  loss {F(e.TrainLoss)}  acc {Pct(e.TrainAccuracy)}") +
                            (e.EvalSet is null ? "" : $"  [green]{Markup.Escape($"{e.EvalSet} acc {Pct(e.EvalAccuracy)}")}[/]{(e.IsBest ? " [yellow]best[/]" : "")}") +
                            Markup.Escape($"  {Throughput.Count(e.ImagesPerSecond)} img/s  {Throughput.Format(e.EpochTime)}");
        _task.StopTask();
    }

    public void Message(string text)
    {
        if (_context is null || _finish.IsSet) { _console.MarkupLine(Markup.Escape(text)); return; }
        var row = _context.AddTask(Markup.Escape(text), maxValue: 1);
        row.Value = 1;
        row.StopTask();
    }

    public void RunEnded(TrainResult r)
    {
        Stop();
        _console.MarkupLine(Markup.Escape(r.Describe()));
    }

    private void Stop()
    {
        _finish.Set();
        _thread?.Join();
        _thread = null;
    }

    public void Dispose()
    {
        Stop();
        _ready.Dispose();
        _finish.Dispose();
    }
}
