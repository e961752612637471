using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;

namespace Sweep.Contract.Tests;

/// <summary>
/// The coordinator and the worker executables share only the contract library (and Search): neither references the
/// other, in its project file or in its built assembly.
/// </summary>
public sealed class ProjectGraphTests
{
    private static readonly string Root = FindRepositoryRoot();

    public static TheoryData<string, string> Executables => new()
    {
        { "src/Coordinator/Sweep.Coordinator.csproj", "Sweep.Worker" },
        { "src/Worker/Sweep.Worker.csproj", "Sweep.Coordinator" },
    };

    [Theory]
    [MemberData(nameof(Executables))]
    public void Neither_executable_project_references_the_other(string project, string other)
    {
        var references = ProjectReferences(project);
        Assert.Contains("Sweep.Contract", references);
        Assert.DoesNotContain(other, references);
    }

    [Fact]
    public void The_project_graph_is_the_one_the_readme_draws()
    {
        Assert.Equal(["Sweep.Contract", "Sweep.Search"], ProjectReferences("src/Coordinator/Sweep.Coordinator.csproj").Order());
        Assert.Equal(["Sweep.Contract", "Sweep.Models", "Sweep.Search"], ProjectReferences("src/Worker/Sweep.Worker.csproj").Order());
        Assert.Equal(["Sweep.Search"], ProjectReferences("src/Contract/Sweep.Contract.csproj"));
        Assert.Empty(ProjectReferences("src/Search/Sweep.Search.csproj"));
        Assert.Empty(ProjectReferences("src/Models/Sweep.Models.csproj"));
    }

    [Theory]
    [MemberData(nameof(Executables))]
    public void Neither_built_executable_references_the_other(string project, string other)
    {
        // The executable built in the same configuration as this test (bin/<Configuration>/<framework>).
        var output = Path.GetRelativePath(Path.Combine(Root, "tests", "Contract.Tests"), AppContext.BaseDirectory);
        var folder = Path.GetDirectoryName(Path.Combine(Root, project))!;
        var assembly = Path.Combine(folder, output, Path.GetFileNameWithoutExtension(project) + ".dll");
        Assert.True(File.Exists(assembly), $"{assembly} is not built; build the solution before running the tests");
        using var stream = File.OpenRead(assembly);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var referenced = metadata.AssemblyReferences.Select(h => metadata.GetString(metadata.GetAssemblyReference(h).Name)).ToList();
        Assert.Contains("Sweep.Contract", referenced);
        Assert.DoesNotContain(other, referenced);
    }

    private static List<string> ProjectReferences(string project) =>
        XDocument.Load(Path.Combine(Root, project))
            .Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/')))
            .ToList();

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Sweep.sln")))
                return dir.FullName;
        throw new InvalidOperationException("Sweep.sln not found above the test's folder");
    }
}
