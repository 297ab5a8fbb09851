using ArchDsl.Dsl;
namespace ArchDsl.Compiler;

/// <summary>
/// The phases of the one-cycle schedule (<c>onecycle(…)</c>) exactly as PyTorch's <c>OneCycleLR</c> (1.13) lays them out
/// over <c>T</c> steps: two (or three with <c>three_phase</c>) that end at float steps <c>pct_start·T − 1</c>
/// (<c>2·pct_start·T − 2</c>) and <c>T − 1</c>; a step belongs to the first phase whose end it does not pass, else the last.
/// Within a phase PyTorch anneals over <c>(step − start) / (end − start)</c>, so a step in a phase of zero length divides
/// by zero. One definition for the runtime's schedule (<c>OneCycleSchedule</c>), which refuses such a run before it
/// trains, and for <c>check</c> (AD0390), which says the same where the data's size, and so <c>T</c>, is known.
/// </summary>
public static class OneCyclePhases
{
    /// <summary>Where each phase ends (a float step), in order.</summary>
    /// <param name="totalSteps">T, the run's optimizer steps (epochs × batches per epoch); positive.</param>
    public static double[] Ends(long totalSteps, double pctStart, bool threePhase)
    {
        double t = totalSteps;
        return threePhase ? [pctStart * t - 1, 2 * pctStart * t - 2, t - 1] : [pctStart * t - 1, t - 1];
    }

    /// <summary>The phase <paramref name="step"/> is in and where that phase starts (0 for the first, else the previous end).</summary>
    public static (int Phase, double Start) Of(long step, double[] ends)
    {
        double start = 0;
        for (int i = 0; i < ends.Length - 1; i++)
        {
            if (step <= ends[i]) return (i, start);
            start = ends[i];
        }
        return (ends.Length - 1, start);
    }

    /// <summary>
    /// The first of the steps a run of <paramref name="totalSteps"/> trains (0 to T − 1) that falls in a phase of zero
    /// length, or null when none does. (PyTorch's T-th <c>scheduler.step()</c> computes step T too; the trainer never
    /// reads it.) At most one step a phase is tried: the first after the previous phase's end.
    /// </summary>
    public static long? EmptyPhaseStep(long totalSteps, double pctStart, bool threePhase)
    {
        if (totalSteps <= 0) return null;
        var ends = Ends(totalSteps, pctStart, threePhase);
        long step = 0;
        while (step < totalSteps)
        {
            var (phase, start) = Of(step, ends);
            if (ends[phase] - start == 0) return step;
            if (phase == ends.Length - 1) return null;   // the last phase holds every later step
            step = Math.Max(step + 1, (long)Math.Floor(ends[phase]) + 1);   // the first step past this phase's end
        }
        return null;
    }

    /// <summary>What train and check say of <see cref="EmptyPhaseStep"/>: the arithmetic, and what to change.</summary>
    public static string Describe(long totalSteps, double pctStart, bool threePhase, long step)
    {
        var ends = Ends(totalSteps, pctStart, threePhase);
        var (phase, start) = Of(step, ends);
        return $"one-cycle with {totalSteps} total steps and pct_start {FloatText.Format(pctStart)} puts step {step} " +
               $"in phase {phase + 1} of {ends.Length}, which is empty (it starts and ends at step {start.ToString(System.Globalization.CultureInfo.InvariantCulture)}; " +
               "PyTorch divides by zero here)";
    }
}
