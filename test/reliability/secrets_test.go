package reliability

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/cloudweav/upgrade-helper/pkg/exitstatus"
)

// credentials is what a kubeconfig of the secrets test authenticates with.
type credentials struct {
	token              string
	username, password string
	certPEM, keyPEM    []byte
}

// writeCredentials writes a kubeconfig that talks to the stand-in with creds.
func writeCredentials(t *testing.T, creds credentials) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["standin"] = &clientcmdapi.Cluster{Server: kv.URL, CertificateAuthorityData: kv.CAData()}
	kc.AuthInfos["user"] = &clientcmdapi.AuthInfo{
		Token: creds.token, Username: creds.username, Password: creds.password,
		ClientCertificateData: creds.certPEM, ClientKeyData: creds.keyPEM,
	}
	kc.Contexts["standin"] = &clientcmdapi.Context{Cluster: "standin", AuthInfo: "user"}
	kc.CurrentContext = "standin"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// secretParts are the strings of creds that must never be printed: the whole secrets and,
// for the long ones, pieces of them (a key's base64 lines, a token's JWT segments), so that a
// secret printed cut or wrapped is caught too.
func secretParts(creds credentials) []string {
	var parts []string
	if creds.token != "" {
		parts = append(parts, creds.token)
		for _, seg := range strings.Split(creds.token, ".") {
			if len(seg) >= 16 {
				parts = append(parts, seg[len(seg)-16:])
			}
		}
	}
	if creds.password != "" {
		parts = append(parts, creds.password, base64.StdEncoding.EncodeToString([]byte(creds.username+":"+creds.password)))
	}
	if len(creds.keyPEM) > 0 {
		parts = append(parts, string(creds.keyPEM))
		for _, line := range strings.Split(string(creds.keyPEM), "\n") {
			if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
				parts = append(parts, line[:32])
			}
		}
	}
	return parts
}

// TestSecretsNeverPrinted runs every subcommand at trace level with kubeconfigs carrying a
// valid ServiceAccount token (bound to the subcommands' roles, so that the runs succeed), a
// valid token without any role (403s), a token the API server rejects (401), a client
// certificate and key without any role (403s), and a username and password (401), and checks
// that no token, key or password appears in stdout, stderr or the error, whatever happened.
func TestSecretsNeverPrinted(t *testing.T) {
	loadExample(t)
	ctx := context.Background()

	token := func(sa string, roles ...[]role) string {
		t.Helper()
		obj := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: systemNS, Name: sa}}
		if _, err := env.Kube.CoreV1().ServiceAccounts(systemNS).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = env.Kube.CoreV1().ServiceAccounts(systemNS).Delete(context.Background(), sa, metav1.DeleteOptions{})
		})
		for _, r := range roles {
			grant(t, "system:serviceaccount:"+systemNS+":"+sa, r, nil)
		}
		req, err := env.Kube.CoreV1().ServiceAccounts(systemNS).CreateToken(ctx, sa, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("TokenRequest: %v", err)
		}
		return req.Status.Token
	}
	userCfg, err := env.AddUser("reliability-secrets")
	if err != nil {
		t.Fatal(err)
	}
	kinds := []struct {
		name  string
		creds credentials
		// ok is whether the runs succeed.
		ok bool
	}{
		{name: "service account token with the roles", creds: credentials{token: token("reliability-bound", versionGuardRoles, shutdownRoles, restoreRoles)}, ok: true},
		{name: "service account token without roles", creds: credentials{token: token("reliability-unbound")}},
		{name: "token the API server rejects", creds: credentials{token: "reliability-fake-token-6f1e0c2b9d8a4e7f"}},
		{name: "client key without roles", creds: credentials{certPEM: userCfg.CertData, keyPEM: userCfg.KeyData}},
		{name: "username and password", creds: credentials{username: "admin", password: "reliability-p4ssw0rd-7c1d"}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			kubeconfig := writeCredentials(t, k.creds)
			runs := [][]string{
				{"version-guard", exampleUpgrade},
				{"vm-live-migrate-detector", sourceNode, "-o", "json"},
				{"vm-live-migrate-detector", sourceNode, "--shutdown", "--upgrade", exampleUpgrade},
				{"restore-vm", "--node", sourceNode, "--upgrade", exampleUpgrade, "--health-backoff", "20ms", "--timeout", "30s"},
				// A request that fails after the connection is made: the error carries the
				// request's details.
				{"vm-live-migrate-detector", "node-9", "--debug"},
			}
			for _, args := range runs {
				res := runCLI(t, append(args, "--trace", "--kubeconfig", kubeconfig)...)
				wantCode := exitstatus.Cluster
				switch {
				case args[1] == "node-9" && k.ok:
					wantCode = exitstatus.Usage
				case k.ok:
					wantCode = exitstatus.OK
				}
				if res.code != wantCode {
					t.Errorf("%s: exit %d, want %d: %v", args[0], res.code, wantCode, res)
				}
				out := res.stdout + res.stderr + res.message()
				for _, secret := range secretParts(k.creds) {
					if strings.Contains(out, secret) {
						t.Errorf("%s printed a secret (%d characters of it):\n%s", strings.Join(args, " "), len(secret), out)
					}
				}
			}
		})
	}
}
