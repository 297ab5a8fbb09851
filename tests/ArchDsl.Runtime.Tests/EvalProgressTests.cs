using ArchDsl.Presentation;

namespace ArchDsl.Runtime.Tests;

/// <summary><c>archc eval</c>'s progress lines: the first report of an unfinished set prints (it used to overflow a
/// TimeSpan and end the process with a stack trace), later ones are rate-limited, the finished set always prints.</summary>
public class EvalProgressTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_first_report_of_an_unfinished_set_prints_and_later_ones_wait_for_the_interval(bool interactive)
    {
        var w = new StringWriter();
        var p = new EvalProgress(w, interactive, "test", TimeSpan.FromHours(1));
        p.Report(128, 10_000);
        p.Report(256, 10_000);   // within the hour: not printed
        p.Report(10_000, 10_000); // finished: always printed
        var text = w.ToString();
        Assert.Contains("evaluating test: 128/10,000 images (1%)", text);
        Assert.DoesNotContain("256/10,000", text);
        Assert.Contains("evaluating test: 10,000/10,000 images (100%)", text);
        Assert.EndsWith("\n", text);
    }
}
