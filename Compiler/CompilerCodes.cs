namespace ArchDsl.Compiler;

/// <summary>
/// Every diagnostic code the compiler reports (AD0100 and up; AD0001–AD0099 belong to the Dsl).
/// A code is stable once published: tests, docs and users' scripts match on it. What each code means is said here;
/// the wording of its messages is in <see cref="CompilerDiagnostics"/> (one descriptor per message, with this code).
/// </summary>
public static class CompilerCodes
{
    // ---- ops and their arguments ------------------------------------------------------------------

    /// <summary>A chain step names no built-in op, user block or op-holding parameter (<c>gelo</c>). Hint: the closest op name.</summary>
    public const string UnknownOp = "AD0100";

    /// <summary>A named argument the op, block, base arch or train call does not take (<c>conv(dim, kernl: 3)</c>).</summary>
    public const string UnknownArgument = "AD0101";

    /// <summary>The same argument given twice, by name or by position and name.</summary>
    public const string DuplicateArgument = "AD0102";

    /// <summary>A required argument is missing (<c>conv(kernel: 3)</c> has no <c>out</c>; a block parameter without default).</summary>
    public const string MissingArgument = "AD0103";

    /// <summary>An argument of the wrong type (<c>kernel: same</c>, <c>p: gelu</c>).</summary>
    public const string ArgumentType = "AD0104";

    /// <summary>An argument of the right type but out of range (<c>kernel: 0</c>, <c>dropout(1.5)</c>, <c>padding: same</c> with an even kernel).</summary>
    public const string InvalidArgument = "AD0105";

    /// <summary>More positional arguments than the op or block takes.</summary>
    public const string TooManyArguments = "AD0106";

    /// <summary>A parameter holds a value that is not an op, but is used as a chain step (<c>dim</c> in <c>conv(dim) -> dim</c>).</summary>
    public const string NotAnOp = "AD0107";

    // ---- names, parameters, arithmetic -------------------------------------------------------------

    /// <summary>A name that is no parameter, shape name or known word is used as a value (<c>conv(dimm)</c>).</summary>
    public const string UndefinedName = "AD0110";

    /// <summary>Two parameters of one arch or block share a name.</summary>
    public const string DuplicateParameter = "AD0111";

    /// <summary>Arithmetic on something that is not a number (<c>dim * gelu</c>, <c>-"x"</c>).</summary>
    public const string ArithmeticType = "AD0112";

    /// <summary><c>/</c> between integers that does not divide exactly (<c>dim / heads</c> with 192 / 5).</summary>
    public const string InexactDivision = "AD0113";

    /// <summary>Division or remainder by zero, or integer overflow.</summary>
    public const string ArithmeticError = "AD0114";

    /// <summary>Arch parameters whose defaults depend on each other in a cycle (<c>a = b + 1, b = a * 2</c>).</summary>
    public const string ParameterCycle = "AD0115";

    // ---- command-line overrides (--set name=value) -------------------------------------------------

    /// <summary>An override names no parameter of the arch (nor a train key for <c>train.key</c>).</summary>
    public const string UnknownOverride = "AD0120";

    /// <summary>An override that is not <c>name=value</c>, or whose value does not parse as an expression.</summary>
    public const string BadOverride = "AD0121";

    // ---- shapes and layouts ------------------------------------------------------------------------

    /// <summary><c>patches(p)</c> where p does not divide the image height or width. Hint: nearby divisors.</summary>
    public const string PatchDoesNotDivide = "AD0130";

    /// <summary><c>attention(heads)</c> where heads does not divide the token width D. Hint: nearby divisors.</summary>
    public const string HeadsDoNotDivide = "AD0131";

    /// <summary>A residual body (a <c>residual { }</c> or a mixer sub-layer with a skip) whose output shape differs from its input.</summary>
    public const string ResidualShapeChange = "AD0132";

    /// <summary>An op applied to a layout it does not take (<c>conv</c> on tokens, <c>linear</c> on an image).</summary>
    public const string WrongLayout = "AD0133";

    /// <summary>Any other impossible shape: a kernel larger than the padded input, groups not dividing channels, a zero-sized output.</summary>
    public const string InvalidShape = "AD0134";

    // ---- train section -----------------------------------------------------------------------------

    /// <summary>A train key that does not exist (<c>epoch:</c>). Hint: the closest key.</summary>
    public const string UnknownTrainKey = "AD0140";

    /// <summary>A train value of the wrong type or out of range (<c>epochs: 0.5</c>, <c>optimizer: adam</c>).</summary>
    public const string TrainValue = "AD0141";

    /// <summary>A train key given twice in one section.</summary>
    public const string DuplicateTrainKey = "AD0142";

    // ---- declarations and structure ----------------------------------------------------------------

    /// <summary>A block that calls itself, directly or through other blocks.</summary>
    public const string BlockRecursion = "AD0150";

    /// <summary>The arch asked for (by name, or the root file's last) does not exist.</summary>
    public const string UnknownArch = "AD0151";

    /// <summary><c>arch X = Base(…)</c> where Base is no arch in the file or its imports.</summary>
    public const string UnknownBase = "AD0152";

    /// <summary>Two archs or two blocks share a name, or a block takes a built-in op's name.</summary>
    public const string DuplicateDeclaration = "AD0153";

    /// <summary>Archs that derive from each other in a cycle (<c>arch A = B()</c>, <c>arch B = A()</c>).</summary>
    public const string BaseCycle = "AD0154";

    /// <summary>An arch without an <c>input</c> statement.</summary>
    public const string MissingInput = "AD0160";

    /// <summary>A statement kind that may appear once (input, stem, head, train) appears twice.</summary>
    public const string DuplicateStatement = "AD0161";

    /// <summary>An <c>input</c> with an unknown layout, the wrong number of dimensions or a non-positive size.</summary>
    public const string BadInput = "AD0162";

    /// <summary>A mixer entry that is unknown, given twice, or has a bad value; a mixer without token or channel chain.</summary>
    public const string BadMixer = "AD0163";

    /// <summary>A graph too large to build: more than <see cref="Limits.MaxNodes"/> nodes, a repeat count over the limit,
    /// or a tensor / shape / mult-add count over <see cref="Limits.MaxElements"/>.</summary>
    public const string TooLarge = "AD0170";

    /// <summary>Blocks nested deeper than <see cref="Limits.MaxDepth"/> or an expression nested too deeply.</summary>
    public const string TooDeep = "AD0171";

    // ---- overrides that conflict, and what train needs of a spec -----------------------------------

    /// <summary>An override key given twice with different values (<c>--set dim=8 --set dim=16</c>, <c>--epochs 2 --set train.epochs=3</c>).</summary>
    public const string ConflictingOverride = "AD0122";

    /// <summary><c>cls</c> reads a class token that no <c>cls_token</c> before it prepended (it would classify from the first patch token).</summary>
    public const string MissingClassToken = "AD0135";

    /// <summary>The model's output is not the vector of class scores a classifier trains (<c>tokens[17, 10]</c> for a head without <c>cls</c>).</summary>
    public const string NotAClassifier = "AD0143";

    /// <summary>The train data disagrees with the model: its class count differs from the head's output, or its images from the input.</summary>
    public const string DataMismatch = "AD0144";

    /// <summary>A BatchNorm would take its training statistics over one value per channel (batch × H × W == 1); PyTorch refuses it.</summary>
    public const string DegenerateBatchStatistics = "AD0145";

    // ---- mixed precision (amp) ---------------------------------------------------------------------

    /// <summary><c>amp</c> is not one of bf16, fp16, off (<c>amp: bf8</c>, <c>amp: 16</c>).</summary>
    public const string UnknownAmp = "AD0195";

    /// <summary><c>amp: true</c> / <c>amp: false</c>: the key's earlier boolean form, which did not say which precision.</summary>
    public const string AmpBoolean = "AD0196";

    /// <summary><c>amp: fp16</c> on a CPU device: libtorch's CPU autocast has bfloat16 only.</summary>
    public const string AmpUnsupportedOnDevice = "AD0197";

    /// <summary>Top-level <c>label_smoothing</c> together with <c>mixup</c>: timm smooths the mixed targets inside Mixup.</summary>
    public const string MixupLabelSmoothing = "AD0190";

    /// <summary><c>mixup(…)</c> with both <c>mixup_alpha</c> and <c>cutmix_alpha</c> 0: nothing to mix (timm asserts one is &gt; 0).</summary>
    public const string MixupNothingToMix = "AD0191";

    /// <summary>A timm RandAugment config string (<c>rand-m9-mstd0.5-inc1</c>) that timm's parser would refuse.</summary>
    public const string RandAugmentConfig = "AD0192";

    /// <summary>A <c>[min, max]</c> range argument of an augmentation with min above max.</summary>
    public const string AugmentRangeReversed = "AD0193";

    /// <summary>Image-folder data names a directory that does not exist here (a warning: train stops there if it is missing on the training machine too).</summary>
    public const string DataFolderMissing = "AD0180";

    /// <summary>Image-folder data has another number of class folders than the model has outputs.</summary>
    public const string DataFolderClasses = "AD0181";

    /// <summary>A sweep file is not YAML, or not a mapping of keys.</summary>
    public const string SweepNotYaml = "AD0215";

    /// <summary>A sweep file (or one of its points) has a key the sweep schema does not know.</summary>
    public const string SweepUnknownKey = "AD0217";

    /// <summary>A sweep file's value has the wrong shape: a list or mapping where one value belongs, or the reverse.</summary>
    public const string SweepValueShape = "AD0219";

    /// <summary>A sweep file's value is not allowed: not a positive integer, a non-integer or repeated seed, a grid key without values, a budget key with 'train.'.</summary>
    public const string SweepBadValue = "AD0221";

    /// <summary>A sweep file names no spec to train.</summary>
    public const string SweepNoSpec = "AD0223";

    // ---- recipes: per-block names, weight decay, EMA (AD0205–0214) ----------------------------------

    /// <summary><c>i</c> or <c>depth</c> (a mixer block's index and the mixer's block count) used where no mixer binds them.</summary>
    public const string BlockNameOutsideMixer = "AD0205";

    /// <summary><c>residual(w) { }</c> with a word that is not add, sub, mul or gate.</summary>
    public const string UnknownResidualCombine = "AD0206";

    // ---- recipes, session 5: channel split for gates (AD0270–0279) --------------------------------

    /// <summary><c>chunk</c> (or <c>residual(gate)</c>, which splits in 2) on a channel count the chunks do not divide.</summary>
    public const string ChunkDoesNotDivide = "AD0270";

    /// <summary><c>chunk(index)</c> with an index not under the chunk count.</summary>
    public const string ChunkIndexOutOfRange = "AD0271";

    // ---- session 8, newuser (AD0390–0399) ----------------------------------------------------------

    /// <summary><c>onecycle(…)</c> whose phases, over the run's steps, leave one empty where a step falls (PyTorch divides by zero).</summary>
    public const string OneCycleEmptyPhase = "AD0390";

    /// <summary>An image folder's test split (<c>val/</c> or <c>test/</c>) with a class folder the training split lacks.</summary>
    public const string DataFolderTestClass = "AD0391";

    /// <summary>A warning: <c>subset</c> above the data's training images, so all of them are used.</summary>
    public const string SubsetBeyondData = "AD0392";

    /// <summary>All codes, for docs and the test that each is unique.</summary>
    public static IReadOnlyList<string> All => typeof(CompilerCodes).GetFields()
        .Where(f => f.IsLiteral && f.FieldType == typeof(string)).Select(f => (string)f.GetRawConstantValue()!).ToList();
}

/// <summary>Hard limits that keep any input from hanging or exhausting memory.</summary>
public static class Limits
{
    /// <summary>Most nodes a graph may have (and most chain steps expansion visits).</summary>
    public const int MaxNodes = 1_000_000;

    /// <summary>Most nested block calls / repeats / residuals, and most nested expression levels.</summary>
    public const int MaxDepth = 200;

    /// <summary>Most elements of one shape or tensor, and most mult-adds of one node (10^12): keeps every total far from overflow.</summary>
    public const long MaxElements = 1_000_000_000_000;
}
