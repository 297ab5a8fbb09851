using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// The wording of the compiler's diagnostics (Roslyn's <c>DiagnosticDescriptor</c>): each descriptor holds its code (from
/// <see cref="CompilerCodes"/>), the code's title and one message format; a report passes only the values
/// (<c>diags.Report(CompilerDiagnostics.HeadsDoNotDivide, span, hint, heads, dim, x)</c>). A code that covers several
/// distinct mistakes (AD0141 covers every bad train value) has one descriptor per message, all derived from its first
/// with <c>with { MessageFormat = … }</c>, so a code's number and title are written once.
/// The doc comment of each descriptor names its arguments.
/// </summary>
public static class CompilerDiagnostics
{
    // ---- ops and their arguments ------------------------------------------------------------------

    /// <summary>{0}: the op or train call; {1}: the argument name.</summary>
    public static readonly DiagnosticDescriptor NoSuchArgument = new(CompilerCodes.UnknownArgument, "unknown argument", "{0} has no argument '{1}'");

    /// <summary>{0}: the argument; {1}: the op or train call.</summary>
    public static readonly DiagnosticDescriptor ArgumentGivenTwice = new(CompilerCodes.DuplicateArgument, "duplicate argument", "argument '{0}' of {1} is given twice");

    /// <summary>{0}: the op; {1}: the argument.</summary>
    public static readonly DiagnosticDescriptor MissingOpArgument = new(CompilerCodes.MissingArgument, "missing argument", "{0} needs argument '{1}'");

    /// <summary>{0}: the argument; {1}: the op; {2}: what it takes ("an integer"); {3}: the value given, described.</summary>
    public static readonly DiagnosticDescriptor ArgumentType = new(CompilerCodes.ArgumentType, "argument of the wrong type", "argument '{0}' of {1} expects {2} but got {3}");

    /// <summary>{0}: the argument; {1}: the op; {2}: the rule it breaks ("must be ≥ 1", "is too large"); {3}: the value.</summary>
    public static readonly DiagnosticDescriptor ArgumentOutOfRange = new(CompilerCodes.InvalidArgument, "invalid argument", "argument '{0}' of {1} {2}, but is {3}");
    /// <summary>{0}: the op; {1}: its stride.</summary>
    public static readonly DiagnosticDescriptor SamePaddingStride = ArgumentOutOfRange with { MessageFormat = "padding: same needs stride 1, but {0} has stride {1}" };
    /// <summary>{0}: the op; {1}: its kernel; {2}: its stride.</summary>
    public static readonly DiagnosticDescriptor SamePaddingStrideOrKernel = ArgumentOutOfRange with
    {
        MessageFormat = "padding: same needs stride 1 and an odd kernel, but {0} has kernel {1} and stride {2}",
    };
    /// <summary>{0}: the pooling op; {1}: its padding; {2}: its kernel.</summary>
    public static readonly DiagnosticDescriptor PoolPaddingOverHalfKernel = ArgumentOutOfRange with { MessageFormat = "{0} padding {1} is more than half the kernel {2}" };
    /// <summary>{0}: the input shape (an image).</summary>
    public static readonly DiagnosticDescriptor PrefixTokensOnImage = ArgumentOutOfRange with { MessageFormat = "global_pool prefix_tokens applies to tokens, not to {0}" };
    /// <summary>{0}: prefix_tokens; {1}: the token count; {2}: the input shape.</summary>
    public static readonly DiagnosticDescriptor PrefixTokensLeaveNone = ArgumentOutOfRange with
    {
        MessageFormat = "global_pool prefix_tokens {0} leaves no token of the {1} to average (input {2})",
    };

    /// <summary>{0}: the op.</summary>
    public static readonly DiagnosticDescriptor TakesNoArguments = new(CompilerCodes.TooManyArguments, "too many arguments", "{0} takes no arguments");
    /// <summary>{0}: the op; {1}: how many it takes; {2}: its usage line.</summary>
    public static readonly DiagnosticDescriptor TakesAtMost = TakesNoArguments with { MessageFormat = "{0} takes at most {1} arguments: {2}" };
    /// <summary>{0}: the train call; {1}: how many positional arguments it takes.</summary>
    public static readonly DiagnosticDescriptor TakesAtMostPositional = TakesNoArguments with { MessageFormat = "{0} takes at most {1} positional arguments" };

    // ---- names and arithmetic ----------------------------------------------------------------------

    /// <summary>{0}: the name.</summary>
    public static readonly DiagnosticDescriptor UndefinedName = new(CompilerCodes.UndefinedName, "undefined name", "undefined name '{0}'");

    /// <summary>{0}: the operator; {1}: the value given, described.</summary>
    public static readonly DiagnosticDescriptor ArithmeticType = new(CompilerCodes.ArithmeticType, "arithmetic on a non-number", "'{0}' needs numbers but got {1}");

    /// <summary>{0}: the dividend; {1}: the divisor.</summary>
    public static readonly DiagnosticDescriptor InexactDivision = new(CompilerCodes.InexactDivision, "inexact integer division",
        "{0} / {1} is not a whole number; integer division must be exact");

    /// <summary>Negating the smallest integer.</summary>
    public static readonly DiagnosticDescriptor NegationOverflow = new(CompilerCodes.ArithmeticError, "arithmetic error", "integer overflow");
    /// <summary>{0}, {2}: the operands; {1}: the operator.</summary>
    public static readonly DiagnosticDescriptor DivisionByZero = NegationOverflow with { MessageFormat = "division by zero in {0} {1} {2}" };
    /// <summary>{0}, {2}: the operands; {1}: the operator.</summary>
    public static readonly DiagnosticDescriptor IntegerOverflow = NegationOverflow with { MessageFormat = "integer overflow in {0} {1} {2}" };
    /// <summary>{0}, {2}: the operands; {1}: the operator.</summary>
    public static readonly DiagnosticDescriptor NotFinite = NegationOverflow with { MessageFormat = "{0} {1} {2} is not a finite number" };

    // ---- shapes and layouts ------------------------------------------------------------------------

    /// <summary>{0}: the patch size; {1}: height or width; {2}: that size; {3}: the input shape.</summary>
    public static readonly DiagnosticDescriptor PatchDoesNotDivide = new(CompilerCodes.PatchDoesNotDivide, "patch size does not divide the image",
        "patch {0} does not divide image {1} {2} (patches on {3})");

    /// <summary>{0}: heads; {1}: the token width; {2}: the input shape.</summary>
    public static readonly DiagnosticDescriptor HeadsDoNotDivide = new(CompilerCodes.HeadsDoNotDivide, "heads do not divide the width",
        "heads {0} does not divide width {1} (attention on {2})");

    /// <summary>{0}: the op; {1}: the layouts it takes ("image or tokens"); {2}: the input shape.</summary>
    public static readonly DiagnosticDescriptor WrongLayout = new(CompilerCodes.WrongLayout, "wrong layout", "{0} expects {1} but got {2}");

    /// <summary>{0}: groups; {1}: "input channels 6" or "output channels 8"; {2}: the input shape.</summary>
    public static readonly DiagnosticDescriptor ConvGroups = new(CompilerCodes.InvalidShape, "invalid shape", "conv groups {0} does not divide the {1} (input {2})");
    /// <summary>{0}: groups; {1}: the channels; {2}: the input shape.</summary>
    public static readonly DiagnosticDescriptor NormGroups = ConvGroups with { MessageFormat = "group_norm groups {0} does not divide the {1} channels (input {2})" };
    /// <summary>{0}: the kernel; {1}×{2}: the padded input; {3}: the input shape; {4}: the padding ("1", or "0, 1" when asymmetric).</summary>
    public static readonly DiagnosticDescriptor ConvKernelTooLarge = ConvGroups with
    {
        MessageFormat = "conv kernel {0} is larger than the padded input {1}×{2} (input {3}, padding {4})",
    };
    /// <summary>{0}: the pooling op; {1}: the kernel; {2}: the input shape; {3}: the padding.</summary>
    public static readonly DiagnosticDescriptor PoolKernelTooLarge = ConvGroups with { MessageFormat = "{0} kernel {1} is larger than the padded input (input {2}, padding {3})" };

    // ---- train section -----------------------------------------------------------------------------

    /// <summary>{0}: the key.</summary>
    public static readonly DiagnosticDescriptor UnknownTrainKey = new(CompilerCodes.UnknownTrainKey, "unknown train key", "unknown train key '{0}'");

    /// <summary>{0}: the key; {1}: what it takes; {2}: the value given, described.</summary>
    public static readonly DiagnosticDescriptor TrainKeyType = new(CompilerCodes.TrainValue, "invalid train value", "train key '{0}' expects {1} but got {2}");
    /// <summary>{0}: the key; {1}: the CLR type of the value handed in (a typed config from code, not a spec).</summary>
    public static readonly DiagnosticDescriptor TrainKeyNotIr = TrainKeyType with { MessageFormat = "train key '{0}' holds {1}, which is not an IR value" };
    /// <summary>{0}: the argument; {1}: the train call; {2}: what it takes; {3}: the value given, described.</summary>
    public static readonly DiagnosticDescriptor TrainArgumentType = TrainKeyType with { MessageFormat = "argument '{0}' of {1} expects {2} but got {3}" };
    /// <summary>{0}: the key (optimizer, schedule, augment); {1}: the name given; {2}: the names it takes.</summary>
    public static readonly DiagnosticDescriptor UnknownTrainCall = TrainKeyType with { MessageFormat = "unknown {0} '{1}'; expected {2}" };
    /// <summary>{0}: the name given; {1}: the catalogue's names.</summary>
    public static readonly DiagnosticDescriptor UnknownData = TrainKeyType with { MessageFormat = "unknown data '{0}'; expected {1}" };
    /// <summary>{0}: the augmentation.</summary>
    public static readonly DiagnosticDescriptor AugmentTwice = TrainKeyType with { MessageFormat = "augmentation '{0}' is listed twice" };
    /// <summary>{0}: the key given (mean or std); {1}: the one missing.</summary>
    public static readonly DiagnosticDescriptor NormalizeNeedsBoth = TrainKeyType with { MessageFormat = "train key '{0}' needs '{1}' as well" };
    /// <summary>{0}: std's value count; {1}: mean's.</summary>
    public static readonly DiagnosticDescriptor NormalizeCounts = TrainKeyType with { MessageFormat = "train key 'std' has {0} value(s) but 'mean' has {1}" };
    /// <summary>No arguments.</summary>
    public static readonly DiagnosticDescriptor StdNotPositive = TrainKeyType with
    {
        MessageFormat = "train key 'std' must hold numbers > 0 (each channel is divided by its std)",
    };
    /// <summary>No arguments (PyTorch's SGD refuses Nesterov without momentum).</summary>
    public static readonly DiagnosticDescriptor NesterovWithoutMomentum = TrainKeyType with { MessageFormat = "sgd(nesterov: true) needs a momentum > 0" };
    /// <summary>No arguments.</summary>
    public static readonly DiagnosticDescriptor OneCycleWarmup = TrainKeyType with
    {
        MessageFormat = "onecycle warms up through its pct_start, so train key 'warmup' must be 0 with it",
    };
    /// <summary>{0}: min_lr; {1}: the optimizer's lr.</summary>
    public static readonly DiagnosticDescriptor MinLrAboveLr = TrainKeyType with
    {
        MessageFormat = "cosine(min_lr: {0}) is above the optimizer's lr {1}; the rate decays from lr to min_lr",
    };
    /// <summary>No arguments.</summary>
    public static readonly DiagnosticDescriptor FolderWithoutPath = TrainKeyType with { MessageFormat = "data 'folder' needs a directory" };
    /// <summary>{0}: the crop padding; {1}: the input shape.</summary>
    public static readonly DiagnosticDescriptor CropPadTooLarge = TrainKeyType with
    {
        MessageFormat = "crop(pad: {0}) needs images larger than the padding; the input is {1}",
    };
    /// <summary>{0}: the value count of mean (and std); {1}: the input's channel count.</summary>
    public static readonly DiagnosticDescriptor NormalizeChannels = TrainKeyType with
    {
        MessageFormat = "train keys 'mean' and 'std' have {0} each but the input has {1}",
    };

    /// <summary>{0}: the output shape.</summary>
    public static readonly DiagnosticDescriptor NotAClassifier = new(CompilerCodes.NotAClassifier, "not a classifier",
        "the model outputs {0}, but training needs a vector of class scores");

    /// <summary>{0}: the data set; {1}: its training image count.</summary>
    public static readonly DiagnosticDescriptor TooFewToSplit = new(CompilerCodes.DataMismatch, "data does not fit the model",
        "data '{0}' has {1} training image, which val_split cannot divide into train and validation");
    /// <summary>{0}: the data set; {1}: the model's input shape.</summary>
    public static readonly DiagnosticDescriptor ImagesForNonImageInput = TooFewToSplit with { MessageFormat = "data '{0}' holds images but the model's input is {1}" };
    /// <summary>{0}: the data set; {1}: its class count; {2}: the output shape.</summary>
    public static readonly DiagnosticDescriptor ClassCount = TooFewToSplit with { MessageFormat = "data '{0}' has {1} classes but the model outputs {2}" };
    /// <summary>{0}: the data set; {1}: its image shape; {2}: the model's input shape.</summary>
    public static readonly DiagnosticDescriptor ImageShape = TooFewToSplit with { MessageFormat = "data '{0}' has images {1} but the model's input is {2}" };

    /// <summary>{0}: the BatchNorm node; {1}: the shape its statistics cover; {2}: <see cref="MoreNodes"/> or nothing.</summary>
    public static readonly DiagnosticDescriptor BatchStatisticsOfOne = new(CompilerCodes.DegenerateBatchStatistics, "degenerate batch statistics",
        "batchnorm '{0}' would take its training statistics over 1 value per channel ({1}){2}");
    /// <summary>{0}: the BatchNorm node; {1}: the training images ("1 image"); {2}: <see cref="MoreNodes"/> or nothing.</summary>
    public static readonly DiagnosticDescriptor TrainingSetOfOne = BatchStatisticsOfOne with
    {
        MessageFormat = "batchnorm '{0}' would take its training statistics over 1 value per channel: the training set has {1}{2}",
    };
    /// <summary>{0}: the BatchNorm node; {1}: the last batch's size; {2}: the training images; {3}: the batch;
    /// {4}: <see cref="MoreNodes"/> or nothing.</summary>
    public static readonly DiagnosticDescriptor LastBatchOfOne = BatchStatisticsOfOne with
    {
        MessageFormat = "batchnorm '{0}' would take its training statistics over 1 value per channel: " +
                        "the last batch of each epoch has {1} image ({2} training images, batch {3}){4}",
    };
    /// <summary>The tail of the batch-statistics messages when more BatchNorms share the fault: "; so would 3 more after it".</summary>
    public const string MoreNodes = "; so would {0} more after it";

    /// <summary>{0}: the input shape of the <c>cls</c>.</summary>
    public static readonly DiagnosticDescriptor MissingClassToken = new(CompilerCodes.MissingClassToken, "no class token",
        "cls reads the class token, but no cls_token before it adds one: it would classify from the first patch token of {0}");

    // ---- limits ------------------------------------------------------------------------------------

    /// <summary>{0}: the op; {1}: the input shape.</summary>
    public static readonly DiagnosticDescriptor SizesOverflow = new(CompilerCodes.TooLarge, "too large", "{0} on {1}: sizes overflow");
    /// <summary>{0}: the op; {1}: the output dims; {2}: the element limit.</summary>
    public static readonly DiagnosticDescriptor OutputTooLarge = SizesOverflow with { MessageFormat = "{0} output [{1}] is too large (limit {2:N0} elements)" };

    /// <summary>The compiler ran out of stack on a deeply nested spec.</summary>
    public static readonly DiagnosticDescriptor SpecTooDeep = new(CompilerCodes.TooDeep, "nested too deeply", "the spec nests too deeply to compile");
    /// <summary>{0}: the depth limit.</summary>
    public static readonly DiagnosticDescriptor ExpressionTooDeep = SpecTooDeep with { MessageFormat = "expression nested more than {0} levels deep" };

    // ---- declarations, archs and parameters (expansion) ----------------------------------------------

    /// <summary>{0}: the block.</summary>
    public static readonly DiagnosticDescriptor BlockNamedAsOp = new(CompilerCodes.DuplicateDeclaration, "duplicate declaration",
        "block '{0}' has the name of a built-in op");
    /// <summary>{0}: "block" or "arch"; {1}: its name. The first declaration is a <see cref="FirstDeclared"/> label.</summary>
    public static readonly DiagnosticDescriptor DeclaredTwice = BlockNamedAsOp with { MessageFormat = "{0} '{1}' is declared twice" };

    /// <summary>{0}: the parameter; {1}: its owner ("arch 'A'"). The first declaration is a <see cref="FirstDeclared"/> label.</summary>
    public static readonly DiagnosticDescriptor ParameterDeclaredTwice = new(CompilerCodes.DuplicateParameter, "duplicate parameter",
        "parameter '{0}' of {1} is declared twice");

    /// <summary>The secondary label at the first of two declarations (rustc's "previous definition … here").</summary>
    public const string FirstDeclared = "first declared here";
    /// <summary>The secondary label at the first of two entries or keys given twice.</summary>
    public const string FirstGiven = "first given here";

    /// <summary>{0}: the arch asked for; {1}: the root file.</summary>
    public static readonly DiagnosticDescriptor NoArchNamed = new(CompilerCodes.UnknownArch, "unknown arch", "no arch named '{0}' in {1} or its imports");
    /// <summary>{0}: the root file.</summary>
    public static readonly DiagnosticDescriptor NoArch = NoArchNamed with { MessageFormat = "{0} declares no arch" };

    /// <summary>{0}: the deriving arch; {1}: the base named.</summary>
    public static readonly DiagnosticDescriptor UnknownBase = new(CompilerCodes.UnknownBase, "unknown base arch", "arch '{0}' derives from '{1}', which is no arch here");

    /// <summary>{0}: the arch; {1}: the chain of bases ("A = B = A").</summary>
    public static readonly DiagnosticDescriptor BaseCycle = new(CompilerCodes.BaseCycle, "base arch cycle", "arch '{0}' derives from itself: {1}");

    /// <summary>{0}: the parameter; {1}: the cycle ("a -> b -> a").</summary>
    public static readonly DiagnosticDescriptor ParameterCycle = new(CompilerCodes.ParameterCycle, "parameter cycle", "parameter '{0}' depends on itself ({1})");

    /// <summary>{0}: the parameter; {1}: the arch.</summary>
    public static readonly DiagnosticDescriptor ParameterWithoutDefault = MissingOpArgument with { MessageFormat = "parameter '{0}' of arch '{1}' has no default" };

    /// <summary>{0}: the owner ("arch 'A'", "block 'b'"); {1}: the name given.</summary>
    public static readonly DiagnosticDescriptor NoSuchParameter = NoSuchArgument with { MessageFormat = "{0} has no parameter '{1}'" };
    /// <summary>{0}: the parameter; {1}: the base arch.</summary>
    public static readonly DiagnosticDescriptor BaseParameterGivenTwice = ArgumentGivenTwice with { MessageFormat = "parameter '{0}' of arch '{1}' is given twice" };
    /// <summary>{0}: the base arch; {1}: its parameter count.</summary>
    public static readonly DiagnosticDescriptor BaseTakesAtMost = TakesNoArguments with { MessageFormat = "arch '{0}' takes {1} parameters, but more are given" };
    /// <summary>{0}: the block; {1}: its parameter count.</summary>
    public static readonly DiagnosticDescriptor BlockTakesAtMost = TakesNoArguments with { MessageFormat = "block '{0}' takes {1} arguments, but more are given" };

    /// <summary>{0}: the block; {1}: the cycle of calls.</summary>
    public static readonly DiagnosticDescriptor BlockRecursion = new(CompilerCodes.BlockRecursion, "recursive block", "block '{0}' calls itself ({1})");

    // ---- overrides ---------------------------------------------------------------------------------

    /// <summary>{0}: the key; {1}, {2}: the two values.</summary>
    public static readonly DiagnosticDescriptor ConflictingOverride = new(CompilerCodes.ConflictingOverride, "conflicting override",
        "override '{0}' is given twice, as {1} and as {2}");

    /// <summary>{0}: the override as written.</summary>
    public static readonly DiagnosticDescriptor OverrideNotNameValue = new(CompilerCodes.BadOverride, "malformed override", "override '{0}' is not name=value");
    /// <summary>{0}: the key.</summary>
    public static readonly DiagnosticDescriptor OverrideNotTrainKey = OverrideNotNameValue with { MessageFormat = "override '{0}' is not train.key or train.key.argument" };
    /// <summary>{0}: the train key; {1}: the argument named.</summary>
    public static readonly DiagnosticDescriptor OverrideArgumentOfNonCall = OverrideNotNameValue with
    {
        MessageFormat = "train key '{0}' does not hold a call, so its argument '{1}' cannot be set",
    };

    /// <summary>{0}: the train key; {1}: the override's key.</summary>
    public static readonly DiagnosticDescriptor OverrideUnknownTrainKey = new(CompilerCodes.UnknownOverride, "unknown override", "unknown train key '{0}' in override '{1}'");
    /// <summary>{0}: the train key; {1}: the argument named.</summary>
    public static readonly DiagnosticDescriptor OverrideArgumentOfPlainKey = OverrideUnknownTrainKey with
    {
        MessageFormat = "train key '{0}' takes no arguments, so 'train.{0}.{1}' names nothing",
    };
    /// <summary>{0}: the arch; {1}: the override's key.</summary>
    public static readonly DiagnosticDescriptor OverrideUnknownParameter = OverrideUnknownTrainKey with { MessageFormat = "arch '{0}' has no parameter '{1}' to override" };

    // ---- statements, input and mixers ----------------------------------------------------------------

    /// <summary>{0}: the arch; {1}: the statement kind. The first statement's keyword is labelled "first 'stem' statement here".</summary>
    public static readonly DiagnosticDescriptor DuplicateStatement = new(CompilerCodes.DuplicateStatement, "duplicate statement",
        "arch '{0}' has a second '{1}' statement");

    /// <summary>{0}: the arch; {1}: the first statement kind.</summary>
    public static readonly DiagnosticDescriptor InputAfterStages = new(CompilerCodes.MissingInput, "missing input", "arch '{0}' has no input before its first {1}");
    /// <summary>{0}: the arch.</summary>
    public static readonly DiagnosticDescriptor NoInput = InputAfterStages with { MessageFormat = "arch '{0}' has no input statement" };

    /// <summary>No arguments.</summary>
    public static readonly DiagnosticDescriptor InputNotFirst = new(CompilerCodes.BadInput, "invalid input", "input must come before the stages");
    /// <summary>{0}: the layout given.</summary>
    public static readonly DiagnosticDescriptor UnknownLayout = InputNotFirst with { MessageFormat = "unknown input layout '{0}'" };
    /// <summary>{0}: the layout; {1}: how many sizes it takes; {2}: their names; {3}: how many were given.</summary>
    public static readonly DiagnosticDescriptor InputSizeCount = InputNotFirst with { MessageFormat = "{0} input needs {1} sizes {2} but has {3}" };
    /// <summary>{0}: the value given, described.</summary>
    public static readonly DiagnosticDescriptor InputSize = InputNotFirst with { MessageFormat = "input size must be an integer from 1 to 1,000,000 but got {0}" };

    /// <summary>{0}: the key given.</summary>
    public static readonly DiagnosticDescriptor UnknownMixerEntry = new(CompilerCodes.BadMixer, "invalid mixer", "unknown mixer entry '{0}'");
    /// <summary>{0}: the entry. The first entry's key is a <see cref="FirstGiven"/> label.</summary>
    public static readonly DiagnosticDescriptor MixerEntryTwice = UnknownMixerEntry with { MessageFormat = "mixer entry '{0}' is given twice" };
    /// <summary>{0}: the entry (token or channel).</summary>
    public static readonly DiagnosticDescriptor MixerEntryNotChain = UnknownMixerEntry with { MessageFormat = "mixer entry '{0}' needs a chain of ops" };
    /// <summary>No arguments.</summary>
    public static readonly DiagnosticDescriptor MixerNormShape = UnknownMixerEntry with
    {
        MessageFormat = "mixer norm takes a norm and an optional placement: norm: layer, pre",
    };
    /// <summary>{0}: the value given, described.</summary>
    public static readonly DiagnosticDescriptor MixerNormKind = UnknownMixerEntry with { MessageFormat = "mixer norm must be batch, layer, group, affine or none, not {0}" };
    /// <summary>{0}: the value given, described.</summary>
    public static readonly DiagnosticDescriptor MixerNormPlacement = UnknownMixerEntry with { MessageFormat = "norm placement must be pre or post, not {0}" };
    /// <summary>{0}: the value given, described.</summary>
    public static readonly DiagnosticDescriptor MixerResidual = UnknownMixerEntry with { MessageFormat = "mixer residual must be token, channel, both or none, not {0}" };
    /// <summary>{0}: the value given, described (or "that").</summary>
    public static readonly DiagnosticDescriptor MixerDropPath = UnknownMixerEntry with { MessageFormat = "mixer drop_path must be a probability in [0, 1), not {0}" };
    /// <summary>No arguments.</summary>
    public static readonly DiagnosticDescriptor MixerWithoutChain = UnknownMixerEntry with { MessageFormat = "a mixer needs a token: or a channel: chain" };

    // ---- chains, residuals, repeats and limits (expansion) --------------------------------------------

    /// <summary>{0}: the op named.</summary>
    public static readonly DiagnosticDescriptor UnknownOp = new(CompilerCodes.UnknownOp, "unknown op", "unknown op '{0}'");
    /// <summary>{0}: the op named; {1}: the parameter that holds it.</summary>
    public static readonly DiagnosticDescriptor UnknownOpViaParameter = UnknownOp with { MessageFormat = "unknown op '{0}' (the value of '{1}')" };

    /// <summary>{0}: the parameter used as a step; {1}: its value, described.</summary>
    public static readonly DiagnosticDescriptor NotAnOp = new(CompilerCodes.NotAnOp, "not an op", "'{0}' holds {1}, not an op, so it cannot be a step");

    /// <summary>{0}: the input shape; {1}: the body's output shape.</summary>
    public static readonly DiagnosticDescriptor ResidualShapeChange = new(CompilerCodes.ResidualShapeChange, "residual changes the shape",
        "residual body changes the shape from {0} to {1}; add needs both shapes equal");
    /// <summary>{0}: token or channel; {1}: the input shape; {2}: the sub-layer's output shape.</summary>
    public static readonly DiagnosticDescriptor SubLayerShapeChange = ResidualShapeChange with
    {
        MessageFormat = "the {0} sub-layer changes the shape from {1} to {2}, so its residual add cannot work",
    };

    /// <summary>{0}: what is counted (repeat, mixer); {1}: the count.</summary>
    public static readonly DiagnosticDescriptor NegativeCount = ArgumentOutOfRange with { MessageFormat = "{0} count must be ≥ 0 but is {1}" };
    /// <summary>{0}: what is counted; {1}: the value given, described.</summary>
    public static readonly DiagnosticDescriptor CountType = ArgumentType with { MessageFormat = "{0} count must be an integer but is {1}" };

    /// <summary>{0}: the depth limit.</summary>
    public static readonly DiagnosticDescriptor BlocksTooDeep = SpecTooDeep with { MessageFormat = "blocks, repeats and residuals nest more than {0} levels deep here" };

    /// <summary>{0}: the input shape.</summary>
    public static readonly DiagnosticDescriptor InputTooLarge = SizesOverflow with { MessageFormat = "input {0} is too large" };
    /// <summary>{0}: what is counted; {1}: the count; {2}: the node limit.</summary>
    public static readonly DiagnosticDescriptor CountTooLarge = SizesOverflow with { MessageFormat = "{0} count {1:N0} is over the limit of {2:N0}" };
    /// <summary>{0}: the op; {1}: its first input shape; {2}: its mult-adds; {3}: the limit.</summary>
    public static readonly DiagnosticDescriptor MultAddsTooLarge = SizesOverflow with { MessageFormat = "{0} on {1} needs {2:N0} mult-adds, over the limit of {3:N0}" };
    /// <summary>{0}: the step limit.</summary>
    public static readonly DiagnosticDescriptor TooManySteps = SizesOverflow with { MessageFormat = "expanding this spec takes more than {0:N0} steps" };
    /// <summary>{0}: the node limit.</summary>
    public static readonly DiagnosticDescriptor TooManyNodes = SizesOverflow with { MessageFormat = "the graph has more than {0:N0} nodes" };
    /// <summary>{0}: what would be made (a repeat, a mixer); {1}: about how many nodes; {2}: the node limit.</summary>
    public static readonly DiagnosticDescriptor WouldMakeTooManyNodes = SizesOverflow with { MessageFormat = "{0} makes about {1:N0} nodes, over the limit of {2:N0}" };

    /// <summary>{0}: the key. The first key is a <see cref="FirstGiven"/> label.</summary>
    public static readonly DiagnosticDescriptor DuplicateTrainKey = new(CompilerCodes.DuplicateTrainKey, "duplicate train key", "train key '{0}' is given twice");

    /// <summary>{0}: the value given.</summary>
    public static readonly DiagnosticDescriptor UnknownAmp = new(CompilerCodes.UnknownAmp, "unknown amp value", "amp takes bf16, fp16 or off, not {0}");
    /// <summary>{0}: true or false.</summary>
    public static readonly DiagnosticDescriptor AmpBoolean = new(CompilerCodes.AmpBoolean, "amp is not a boolean",
        "amp: {0} no longer says which precision to train in; amp takes bf16, fp16 or off");
    /// <summary>{0}: why (AmpModes.Unsupported).</summary>
    public static readonly DiagnosticDescriptor AmpFp16OnCpu = new(CompilerCodes.AmpUnsupportedOnDevice, "amp not supported on the device", "{0}");

    /// <summary>{0}: the top-level label_smoothing.</summary>
    public static readonly DiagnosticDescriptor MixupLabelSmoothing = new(CompilerCodes.MixupLabelSmoothing, "label smoothing given twice",
        "train key 'label_smoothing' ({0}) is not used with mixup; the mixed targets are smoothed by mixup(label_smoothing: …)");
    /// <summary>No arguments.</summary>
    public static readonly DiagnosticDescriptor MixupNothingToMix = new(CompilerCodes.MixupNothingToMix, "mixup mixes nothing",
        "mixup(mixup_alpha: 0, cutmix_alpha: 0) mixes nothing; one of the alphas must be > 0");
    /// <summary>{0}: the config string; {1}: what is wrong with it.</summary>
    public static readonly DiagnosticDescriptor RandAugmentConfig = new(CompilerCodes.RandAugmentConfig, "invalid RandAugment config",
        "rand_augment config \"{0}\": {1}");
    /// <summary>{0}: the augmentation; {1}: the argument; {2}: min; {3}: max.</summary>
    public static readonly DiagnosticDescriptor AugmentRangeReversed = new(CompilerCodes.AugmentRangeReversed, "reversed range",
        "{0}({1}: [{2}, {3}]) has its minimum above its maximum");

    /// <summary>{0}: the folder as written.</summary>
    public static readonly DiagnosticDescriptor DataFolderMissing = new(CompilerCodes.DataFolderMissing, "image folder not found",
        "image folder '{0}' does not exist");
    /// <summary>{0}: the folder holding the class folders; {1}: their count; {2}: the output shape.</summary>
    public static readonly DiagnosticDescriptor DataFolderClasses = new(CompilerCodes.DataFolderClasses, "class folders do not match the model",
        "image folder '{0}' has {1} class folders but the model outputs {2}");

    /// <summary>{0}: what is wrong with the text.</summary>
    public static readonly DiagnosticDescriptor SweepNotYaml = new(CompilerCodes.SweepNotYaml, "sweep file is not YAML", "{0}");
    /// <summary>{0}: the key; {1}: where (a sweep file, a point).</summary>
    public static readonly DiagnosticDescriptor SweepUnknownKey = new(CompilerCodes.SweepUnknownKey, "unknown sweep key", "unknown key '{0}' in {1}");
    /// <summary>{0}: the key; {1}: the shape it needs.</summary>
    public static readonly DiagnosticDescriptor SweepValueShape = new(CompilerCodes.SweepValueShape, "sweep value of the wrong shape", "{0} must be {1}");
    /// <summary>{0}: the key; {1}: what it needs; {2}: the value given.</summary>
    public static readonly DiagnosticDescriptor SweepBadValue = new(CompilerCodes.SweepBadValue, "bad sweep value", "{0} must be {1}, got '{2}'");
    public static readonly DiagnosticDescriptor SweepNoSpec = new(CompilerCodes.SweepNoSpec, "no spec to train",
        "the sweep names no spec to train");

    /// <summary>{0}: the name (i or depth); {1}: what it is.</summary>
    public static readonly DiagnosticDescriptor BlockNameOutsideMixer = new(CompilerCodes.BlockNameOutsideMixer, "per-block name outside a mixer",
        "'{0}' is {1}, defined only inside a mixer");

    /// <summary>{0}: the word written.</summary>
    public static readonly DiagnosticDescriptor UnknownResidualCombine = new(CompilerCodes.UnknownResidualCombine, "unknown residual combination",
        "residual combines by add, sub, mul or gate, not '{0}'");

    /// <summary>{0}: the channel count; {1}: the chunks; {2}: the input shape.</summary>
    public static readonly DiagnosticDescriptor ChunkDoesNotDivide = new(CompilerCodes.ChunkDoesNotDivide, "channels do not split evenly",
        "{0} channels do not split into {1} equal chunks (input {2})");

    /// <summary>{0}: the index; {1}: the chunks.</summary>
    public static readonly DiagnosticDescriptor ChunkIndexOutOfRange = new(CompilerCodes.ChunkIndexOutOfRange, "chunk index out of range",
        "chunk index {0} is not under the chunk count {1}");

    /// <summary>{0}: <see cref="OneCyclePhases.Describe"/>: the steps, pct_start, the step and its empty phase.</summary>
    public static readonly DiagnosticDescriptor OneCycleEmptyPhase = new(CompilerCodes.OneCycleEmptyPhase, "one-cycle phase without steps", "{0}");

    /// <summary>{0}: <see cref="ImageFolderLayout.UnknownMessage"/>: the folder, the classes, the training classes' count.</summary>
    public static readonly DiagnosticDescriptor DataFolderTestClass = new(CompilerCodes.DataFolderTestClass, "test class not among the training classes", "{0}");

    /// <summary>{0}: the subset; {1}: the data's name; {2}: its training images.</summary>
    public static readonly DiagnosticDescriptor SubsetBeyondData = new(CompilerCodes.SubsetBeyondData, "subset larger than the data",
        "subset {0} is more than the {2} training images of '{1}': all {2} are used");

    /// <summary>Every descriptor above (for the tests and docs).</summary>
    public static IReadOnlyList<DiagnosticDescriptor> All { get; } =
        typeof(CompilerDiagnostics).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
            .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
            .ToList();
}
