namespace ArchDsl.Dsl.Tests;

/// <summary>Floats are written as PyTorch and timm show them (Python's repr), and read back by the DSL to the same double.</summary>
public class FloatTextTests
{
    /// <summary>Each expected text is what <c>/usr/bin/python3 -c 'print(repr(v))'</c> printed for the value.</summary>
    [Theory]
    [InlineData(1e-8, "1e-08")]
    [InlineData(1e-6, "1e-06")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(-1e-7, "-1e-07")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.0001234, "0.0001234")]
    [InlineData(0.1, "0.1")]
    [InlineData(0.30000000000000004, "0.30000000000000004")]
    [InlineData(1.0 / 3, "0.3333333333333333")]
    [InlineData(9.5367431640625e-07, "9.5367431640625e-07")]
    [InlineData(1.0, "1.0")]
    [InlineData(0.0, "0.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(120.0, "120.0")]
    [InlineData(123456789.125, "123456789.125")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(9999999999999998.0, "9999999999999998.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1.5e300, "1.5e+300")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(double.NaN, "nan")]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(double.NegativeInfinity, "-inf")]
    public void Format_writes_what_python_repr_writes(double value, string expected) => Assert.Equal(expected, FloatText.Format(value));

    /// <summary>Each expected text is what <c>/usr/bin/python3 -c 'print(format(v, ".6g"))'</c> printed for the value.</summary>
    [Theory]
    [InlineData(0.28604060411453247, "0.286041")]
    [InlineData(1e-5, "1e-05")]
    [InlineData(1.52587890625e-05, "1.52588e-05")]
    [InlineData(65536.0, "65536")]
    [InlineData(15000000.0, "1.5e+07")]
    [InlineData(123456.0, "123456")]
    [InlineData(1234567.0, "1.23457e+06")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.0, "0")]
    [InlineData(-2.5e-07, "-2.5e-07")]
    public void Significant_writes_what_python_format_g6_writes(double value, string expected) => Assert.Equal(expected, FloatText.Significant(value));

    /// <summary>A printed finite float is a DSL number literal (a FloatLit, not an IntLit) of the same bits: a printed spec parses back.</summary>
    [Theory]
    [InlineData(1e-8)]
    [InlineData(1e-5)]
    [InlineData(0.30000000000000004)]
    [InlineData(1.0)]
    [InlineData(1e15)]
    [InlineData(1e16)]
    [InlineData(1.5e300)]
    [InlineData(5e-324)]
    public void A_formatted_float_parses_back_as_the_same_float(double value)
    {
        var text = FloatText.Format(value);
        var r = SpecParser.ParseExpression(new SourceText("<set>", text));
        Assert.Empty(r.Diagnostics);
        var lit = Assert.IsType<FloatLit>(r.Expr);
        Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(lit.Value));
    }

    /// <summary>A diagnostic's message shows a double argument as <see cref="FloatText.Format(double)"/> does, not as .NET's <c>1E-08</c>.</summary>
    [Fact]
    public void A_diagnostic_message_writes_a_double_argument_as_python_does()
    {
        var d = new DiagnosticDescriptor("AD9999", "test", "eps {0} and lr {1} and count {2}");
        Assert.Equal("eps 1e-08 and lr 0.001 and count 3", d.Format(1e-8, 0.001, 3L));
    }

    /// <summary>A float argument is written as NumPy writes a float32 (<c>/usr/bin/python3 -c 'import numpy as np;
    /// print(np.float32(1e-8))'</c> printed <c>1e-08</c>), not as .NET's <c>1E-08</c> nor the widened double's digits;
    /// a format specifier on a floating argument is honoured, not dropped.</summary>
    [Fact]
    public void A_diagnostic_message_writes_a_float_argument_as_numpy_does_and_honours_a_specifier()
    {
        Assert.Equal("eps 1e-08, one 1.0, big 1e+16", new DiagnosticDescriptor("AD9999", "test", "eps {0}, one {1}, big {2}").Format(1e-8f, 1f, 1e16f));
        Assert.Equal("1,234,568 elements (0.50; 1e-05 plain)",
            new DiagnosticDescriptor("AD9999", "test", "{0:N0} elements ({1,4:0.00}; {2} plain)").Format(1234567.5, 0.5f, 1e-5));
        Assert.Equal("{0:N0} is 2.5", new DiagnosticDescriptor("AD9999", "test", "{{0:N0}} is {0}").Format(2.5));
    }
}
