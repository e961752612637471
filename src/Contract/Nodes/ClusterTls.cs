using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Remote.Transport.DotNetty;
using Sweep.Contract.Cli;

namespace Sweep.Contract.Nodes;

/// <summary>
/// Mutual TLS between the nodes of a cluster (<c>sweep.node.tls</c>): every node presents its certificate and
/// accepts a peer only when the peer's certificate chains up to the cluster's own CA. A process without such a
/// certificate cannot open a connection to any node, so it can neither join, nor get trials, nor send results.
/// Off (plain TCP) when no certificate is configured: the loopback default needs none.
/// </summary>
public sealed class ClusterTls
{
    private ClusterTls(X509Certificate2 certificate, X509Certificate2Collection authority)
    {
        Certificate = certificate;
        Authority = authority;
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>The CA certificates a peer's certificate must chain up to.</summary>
    public X509Certificate2Collection Authority { get; }

    /// <summary>Null when <c>sweep.node.tls</c> names no certificate; otherwise the loaded files (one-line error when unusable).</summary>
    public static ClusterTls? FromConfig(Config config)
    {
        var section = config.GetConfig("sweep.node.tls");
        var certificate = section?.GetString("certificate", "") ?? "";
        var key = section?.GetString("key", "") ?? "";
        var authority = section?.GetString("ca", "") ?? "";
        if (certificate.Length == 0 && key.Length == 0 && authority.Length == 0)
            return null;
        if (certificate.Length == 0 || key.Length == 0 || authority.Length == 0)
            throw new SweepUsageException("sweep.node.tls needs all three of certificate, key and ca (PEM files); set them all, or none for plain TCP on loopback");
        foreach (var (name, path) in new[] { ("certificate", certificate), ("key", key), ("ca", authority) })
            if (!File.Exists(path))
                throw new SweepUsageException($"sweep.node.tls.{name} '{path}' does not exist; point it at a PEM file");
        try
        {
            var authorities = new X509Certificate2Collection();
            authorities.ImportFromPemFile(authority);
            if (authorities.Count == 0)
                throw new CryptographicException("no certificate in the CA file");
            return new ClusterTls(X509Certificate2.CreateFromPemFile(certificate, key), authorities);
        }
        catch (CryptographicException e)
        {
            throw new SweepUsageException($"sweep.node.tls: cannot load the certificate, key or CA ({e.Message.TrimEnd('.')}); give PEM files of one key pair and its CA");
        }
    }

    /// <summary>The node's actor system, with mutual TLS when <c>sweep.node.tls</c> configures it.</summary>
    public static ActorSystem CreateSystem(Config config)
    {
        if (FromConfig(config) is not { } tls)
            return ActorSystem.Create(ClusterNodeConfig.SystemName, config);
        // Over TLS the addresses read akka.ssl.tcp://; seed nodes given as HOST:PORT were written as akka.tcp://.
        var seeds = config.GetStringList("akka.cluster.seed-nodes")
            .Select(seed => seed.StartsWith("akka.tcp://", StringComparison.Ordinal) ? "akka.ssl.tcp://" + seed["akka.tcp://".Length..] : seed);
        var withSsl = ConfigurationFactory.ParseString(
                $"akka.remote.dot-netty.tcp.enable-ssl = true\nakka.cluster.seed-nodes = {Configuration.SweepConfig.QuoteList(seeds)}")
            .WithFallback(config);
        var setup = ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(withSsl),
            new DotNettySslSetup(tls.Certificate, suppressValidation: false, requireMutualAuthentication: true,
                validateCertificateHostname: false, customValidator: (certificate, _, _, _, _) => tls.Trusts(certificate)));
        return ActorSystem.Create(ClusterNodeConfig.SystemName, setup);
    }

    /// <summary>True when <paramref name="peer"/> chains up to the cluster's CA (and to nothing else).</summary>
    public bool Trusts(X509Certificate? peer)
    {
        if (peer is null)
            return false;
        using var certificate = new X509Certificate2(peer);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
