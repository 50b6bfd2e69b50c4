package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The files under deploy/ are held to the code here: they cannot be run
// in the tests (no Docker daemon nor Kubernetes cluster), so what can go
// stale — a flag renamed, a variable misspelt, a grace period shorter
// than the drain — is checked against tickerd itself.

const deployDir = "../../deploy"

var (
	envVarName = regexp.MustCompile(`\bTICKERD_[A-Z0-9_]+\b`)
	composeVar = regexp.MustCompile(`\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}`)
	helpFlag   = regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)
)

// checkServeArgs parses a `tickerd serve` command line and environment the
// way serve does, so that an unknown flag or variable, or a value that
// does not parse, fails; it returns the flags as set.
func checkServeArgs(t *testing.T, where string, args []string, env map[string]string) *flag.FlagSet {
	t.Helper()
	fs, _ := newServeFlags(io.Discard)
	checkEnvNames(t, where, fs, env)
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out bytes.Buffer
	if err := parse(fs, args, &out); err != nil {
		t.Errorf("%s: tickerd serve %s: %v", where, strings.Join(args, " "), err)
	}
	// t.Setenv's values stay until the test ends: the next command line
	// must not inherit them.
	for k := range env {
		os.Unsetenv(k)
	}
	return fs
}

// checkEnvNames fails for a TICKERD_ variable that no flag of fs reads.
func checkEnvNames(t *testing.T, where string, fs *flag.FlagSet, env map[string]string) {
	t.Helper()
	known := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { known[envName(f.Name)] = true })
	for k := range env {
		if !known[k] {
			t.Errorf("%s: $%s is not read by any flag of %s", where, k, fs.Name())
		}
	}
}

// commandFlags returns the flags `tickerd CMD -h` lists.
func commandFlags(t *testing.T, cmd string) map[string]bool {
	t.Helper()
	var help bytes.Buffer
	run([]string{cmd, "-h"}, &help, &help)
	flags := map[string]bool{}
	for _, m := range helpFlag.FindAllStringSubmatch(help.String(), -1) {
		flags[m[1]] = true
	}
	if len(flags) < 5 {
		t.Fatalf("tickerd %s -h lists %d flags:\n%s", cmd, len(flags), help.String())
	}
	return flags
}

// interpolate resolves compose's ${VAR:-default} to its default, as with
// VAR unset.
func interpolate(s string) string {
	return composeVar.ReplaceAllString(s, "$2")
}

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       map[string]string `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		StopGrace   string            `yaml:"stop_grace_period"`
		Volumes     []string          `yaml:"volumes"`
		Networks    any               `yaml:"networks"`
	} `yaml:"services"`
}

// Every flag and TICKERD_ variable the compose file gives tickerd exists
// and parses; the gateways name every NATS node and ask for a replica on
// each; the NATS nodes route to one another with JetStream on; HAProxy
// balances over exactly the gateways; a stop waits out the drain.
func TestDeployCompose(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	var natsNodes, gateways []string
	feeds := 0
	for name, s := range c.Services {
		switch {
		case strings.HasPrefix(s.Image, "nats:"):
			natsNodes = append(natsNodes, name)
		case s.Image == "tickerd:local":
			if s.Build["dockerfile"] != "deploy/Dockerfile" || s.Build["context"] != ".." {
				t.Errorf("compose.yaml: %s builds %v, want deploy/Dockerfile from ..", name, s.Build)
			}
			if len(s.Command) == 0 {
				t.Errorf("compose.yaml: %s has no command", name)
				continue
			}
			env := map[string]string{}
			for k, v := range s.Environment {
				env[k] = interpolate(v)
			}
			where := "compose.yaml: " + name
			switch s.Command[0] {
			case "serve":
				gateways = append(gateways, name)
				fs := checkServeArgs(t, where, s.Command[1:], env)
				checkNATSURL(t, where, fs.Lookup("nats-url").Value.String(), &natsNodes, c)
				if r := fs.Lookup("replicas").Value.String(); r != "3" {
					t.Errorf("%s: --replicas %s, want 3", where, r)
				}
				drain, _ := time.ParseDuration(fs.Lookup("drain-timeout").Value.String())
				grace, err := time.ParseDuration(s.StopGrace)
				if err != nil || grace < drain+3*time.Second {
					t.Errorf("%s: stop_grace_period %q does not cover --drain-timeout %s and 3s to exit", where, s.StopGrace, drain)
				}
			case "feed":
				feeds++
				known := commandFlags(t, "feed")
				for _, a := range s.Command[1:] {
					name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
					if strings.HasPrefix(a, "-") && !known[name] {
						t.Errorf("%s: --%s is not a flag of tickerd feed", where, name)
					}
				}
				for k := range env {
					if !known[strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "TICKERD_"), "_", "-"))] {
						t.Errorf("%s: $%s is not read by tickerd feed", where, k)
					}
				}
			default:
				t.Errorf("%s: command %q is neither serve nor feed", where, s.Command[0])
			}
		}
	}
	if len(natsNodes) != 3 || len(gateways) != 3 || feeds != 1 {
		t.Fatalf("compose.yaml: %d NATS nodes, %d gateways, %d feeds; want 3, 3, 1", len(natsNodes), len(gateways), feeds)
	}
	slices.Sort(natsNodes)
	for _, n := range natsNodes {
		cmd := strings.Join(c.Services[n].Command, " ")
		for _, want := range []string{"--jetstream", "--name=" + n, "--cluster_name=tickerd", "--cluster=nats://0.0.0.0:6222", "--store_dir=/data"} {
			if !strings.Contains(cmd, want) {
				t.Errorf("compose.yaml: NATS node %s lacks %s: %s", n, want, cmd)
			}
		}
		var routes []string
		for _, o := range natsNodes {
			if o != n {
				routes = append(routes, "nats://"+o+":6222")
			}
		}
		if want := "--routes=" + strings.Join(routes, ","); !strings.Contains(cmd, want) {
			t.Errorf("compose.yaml: NATS node %s does not route to the others (%s): %s", n, want, cmd)
		}
		if !slices.Contains(c.Services[n].Volumes, n+":/data") {
			t.Errorf("compose.yaml: NATS node %s keeps /data in no volume of its own: %v", n, c.Services[n].Volumes)
		}
	}

	cfg, err := os.ReadFile(filepath.Join(deployDir, "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	var servers []string
	for _, m := range regexp.MustCompile(`(?m)^\s*server \S+ (\S+):8080\b`).FindAllStringSubmatch(string(cfg), -1) {
		servers = append(servers, m[1])
	}
	slices.Sort(servers)
	slices.Sort(gateways)
	if !slices.Equal(servers, gateways) {
		t.Errorf("haproxy.cfg balances over %v, compose.yaml's gateways are %v", servers, gateways)
	}
	for _, want := range []string{"balance roundrobin", "option httpchk GET /readyz", "timeout tunnel"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("haproxy.cfg lacks %q", want)
		}
	}
	haproxyCheck(t)
}

// checkNATSURL wants url to list every NATS node of the compose file.
func checkNATSURL(t *testing.T, where, url string, nodes *[]string, c composeFile) {
	t.Helper()
	var listed []string
	for _, u := range strings.Split(url, ",") {
		host, port, err := net.SplitHostPort(strings.TrimPrefix(u, "nats://"))
		if err != nil || port != "4222" {
			t.Errorf("%s: --nats-url entry %q is not nats://host:4222", where, u)
			continue
		}
		listed = append(listed, host)
	}
	var all []string
	for name, s := range c.Services {
		if strings.HasPrefix(s.Image, "nats:") {
			all = append(all, name)
		}
	}
	slices.Sort(listed)
	slices.Sort(all)
	if !slices.Equal(listed, all) {
		t.Errorf("%s: --nats-url lists %v, the NATS nodes are %v", where, listed, all)
	}
}

// haproxyCheck runs `haproxy -c` on the configuration when HAProxy is
// installed (CI installs it: `make deps`).
func haproxyCheck(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("haproxy is not installed: run `make deps`")
		}
		t.Log("haproxy is not installed (`make deps`): haproxy.cfg was not checked by haproxy -c")
		return
	}
	out, err := exec.Command(bin, "-c", "-f", filepath.Join(deployDir, "haproxy.cfg")).CombinedOutput()
	if err != nil {
		t.Errorf("haproxy -c -f deploy/haproxy.cfg: %v\n%s", err, out)
	}
}

// k8sObject is the part of a Kubernetes object the test reads.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		Selector yaml.Node `yaml:"selector"`
		Ports    []struct {
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
		MaxUnavailable any `yaml:"maxUnavailable"`
		Template       struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				Grace      int `yaml:"terminationGracePeriodSeconds"`
				Containers []struct {
					Name string   `yaml:"name"`
					Args []string `yaml:"args"`
					Env  []struct {
						Name      string `yaml:"name"`
						Value     string `yaml:"value"`
						ValueFrom any    `yaml:"valueFrom"`
					} `yaml:"env"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					Startup   *k8sProbe `yaml:"startupProbe"`
					Readiness *k8sProbe `yaml:"readinessProbe"`
					Liveness  *k8sProbe `yaml:"livenessProbe"`
					Lifecycle struct {
						PreStop struct {
							Sleep struct {
								Seconds int `yaml:"seconds"`
							} `yaml:"sleep"`
						} `yaml:"preStop"`
					} `yaml:"lifecycle"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
	Period  int `yaml:"periodSeconds"`
	Failure int `yaml:"failureThreshold"`
}

// selectorLabels reads a selector that is either {matchLabels: ...}
// (Deployment, PodDisruptionBudget) or the labels themselves (Service).
func selectorLabels(n yaml.Node) map[string]string {
	var m struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	if n.Decode(&m) == nil && m.MatchLabels != nil {
		return m.MatchLabels
	}
	var labels map[string]string
	_ = n.Decode(&labels)
	return labels
}

// The Kubernetes manifests parse; the gateway's args and env parse as
// tickerd serve's; readiness is /readyz and liveness /healthz on the port
// --addr serves; the grace period covers preStop and the drain; the
// Service and the PodDisruptionBudget select the Deployment's pods; the
// gateways name every server of the NATS chart's release, which keeps
// three JetStream replicas.
func TestDeployKubernetes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir, "k8s", "tickerd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]k8sObject{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var o k8sObject
		if err := dec.Decode(&o); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("k8s/tickerd.yaml: %v", err)
		}
		objs[o.Kind] = o
	}
	d, ok := objs["Deployment"]
	if !ok || len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("k8s/tickerd.yaml: want a Deployment with one container, have %v", objs)
	}
	podLabels := d.Spec.Template.Metadata.Labels
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget"} {
		sel := selectorLabels(objs[kind].Spec.Selector)
		if len(sel) == 0 {
			t.Errorf("k8s/tickerd.yaml: the %s selects nothing", kind)
		}
		for k, v := range sel {
			if podLabels[k] != v {
				t.Errorf("k8s/tickerd.yaml: the %s selects %s=%s, which the pods lack (%v)", kind, k, v, podLabels)
			}
		}
	}
	if objs["PodDisruptionBudget"].Spec.MaxUnavailable == nil {
		t.Error("k8s/tickerd.yaml: the PodDisruptionBudget sets no maxUnavailable")
	}

	c := d.Spec.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("k8s/tickerd.yaml: args %v do not run tickerd serve", c.Args)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil {
			env[e.Name] = "from-a-secret"
		}
	}
	fs := checkServeArgs(t, "k8s/tickerd.yaml", c.Args[1:], env)

	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	_, addrPort, _ := net.SplitHostPort(fs.Lookup("addr").Value.String())
	for name, probe := range map[string]struct {
		p    *k8sProbe
		path string
	}{"startupProbe": {c.Startup, "/healthz"}, "readinessProbe": {c.Readiness, "/readyz"}, "livenessProbe": {c.Liveness, "/healthz"}} {
		switch {
		case probe.p == nil:
			t.Errorf("k8s/tickerd.yaml: no %s", name)
		case probe.p.HTTPGet.Path != probe.path:
			t.Errorf("k8s/tickerd.yaml: %s asks for %s, want %s", name, probe.p.HTTPGet.Path, probe.path)
		case fmt.Sprint(ports[probe.p.HTTPGet.Port]) != addrPort:
			t.Errorf("k8s/tickerd.yaml: %s probes port %q (%d), --addr serves %s", name, probe.p.HTTPGet.Port, ports[probe.p.HTTPGet.Port], addrPort)
		}
	}
	svc := objs["Service"]
	if len(svc.Spec.Ports) != 1 || ports[svc.Spec.Ports[0].TargetPort] == 0 || fmt.Sprint(ports[svc.Spec.Ports[0].TargetPort]) != addrPort {
		t.Errorf("k8s/tickerd.yaml: the Service's ports %+v do not lead to --addr's port %s", svc.Spec.Ports, addrPort)
	}

	drain, err := time.ParseDuration(fs.Lookup("drain-timeout").Value.String())
	if err != nil {
		t.Fatal(err)
	}
	preStop := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	grace := time.Duration(d.Spec.Template.Spec.Grace) * time.Second
	if preStop < 5*time.Second {
		t.Errorf("k8s/tickerd.yaml: preStop sleeps %s: too short for the endpoints to go before the drain", preStop)
	}
	if grace < preStop+drain+5*time.Second {
		t.Errorf("k8s/tickerd.yaml: terminationGracePeriodSeconds %s < preStop %s + --drain-timeout %s + 5s to exit", grace, preStop, drain)
	}
	// The startup probe waits at least as long as a gateway may wait for
	// its stream on a cluster still electing (serve's default, 60s).
	if s := c.Startup; s != nil && time.Duration(s.Period*s.Failure)*time.Second < 60*time.Second {
		t.Errorf("k8s/tickerd.yaml: the startup probe gives up after %ds, before a gateway stops waiting for NATS (60s)", s.Period*s.Failure)
	}

	checkHelmNATS(t, fs.Lookup("nats-url").Value.String(), fs.Lookup("replicas").Value.String())
}

// checkHelmNATS reads the NATS chart's values and the release name of the
// helm command in deploy/README.md, and wants natsURL to name each server
// of that release through its headless Service.
func checkHelmNATS(t *testing.T, natsURL, replicas string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "k8s", "nats-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Config struct {
			Cluster struct {
				Enabled  bool `yaml:"enabled"`
				Replicas int  `yaml:"replicas"`
			} `yaml:"cluster"`
			JetStream struct {
				Enabled   bool `yaml:"enabled"`
				FileStore struct {
					Enabled bool `yaml:"enabled"`
					PVC     struct {
						Enabled bool   `yaml:"enabled"`
						Size    string `yaml:"size"`
					} `yaml:"pvc"`
				} `yaml:"fileStore"`
			} `yaml:"jetstream"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("k8s/nats-values.yaml: %v", err)
	}
	js := v.Config.JetStream
	if !v.Config.Cluster.Enabled || v.Config.Cluster.Replicas != 3 || !js.Enabled || !js.FileStore.Enabled || !js.FileStore.PVC.Enabled || js.FileStore.PVC.Size == "" {
		t.Errorf("k8s/nats-values.yaml: want a cluster of 3 with JetStream on persistent volumes, have %+v", v.Config)
	}
	if replicas != fmt.Sprint(v.Config.Cluster.Replicas) {
		t.Errorf("k8s/tickerd.yaml: --replicas %s, the NATS cluster has %d servers", replicas, v.Config.Cluster.Replicas)
	}

	readme, err := os.ReadFile(filepath.Join(deployDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`helm upgrade --install (\S+) nats/nats .*-f (\S+)`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("deploy/README.md has no `helm upgrade --install RELEASE nats/nats ... -f VALUES` command")
	}
	release := string(m[1])
	if _, err := os.Stat(filepath.Join("../..", string(m[2]))); err != nil {
		t.Errorf("deploy/README.md's helm command: %v", err)
	}
	var want []string
	for i := range v.Config.Cluster.Replicas {
		want = append(want, fmt.Sprintf("nats://%s-%d.%s-headless:4222", release, i, release))
	}
	if natsURL != strings.Join(want, ",") {
		t.Errorf("k8s/tickerd.yaml: --nats-url %s, want every server of release %q: %s", natsURL, release, strings.Join(want, ","))
	}
	checkEnvNames(t, "deploy/README.md", mustServeFlags(), envNames(readme))
}

func mustServeFlags() *flag.FlagSet {
	fs, _ := newServeFlags(io.Discard)
	return fs
}

func envNames(b []byte) map[string]string {
	env := map[string]string{}
	for _, m := range envVarName.FindAll(b, -1) {
		env[string(m)] = ""
	}
	return env
}

// The Dockerfile builds a static binary, runs it as a non-root user on a
// small base, exposes --addr's port, and runs a command that parses.
func TestDeployDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var final []string // the last stage's instructions
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "FROM ") {
			final = nil
		}
		final = append(final, line)
	}
	if !strings.Contains(string(b), "CGO_ENABLED=0 go build") {
		t.Error("Dockerfile: the binary is not built with CGO_ENABLED=0")
	}
	if len(final) == 0 || !regexp.MustCompile(`^FROM (gcr\.io/distroless/static\S*|scratch)\b`).MatchString(final[0]) {
		t.Errorf("Dockerfile: the final stage is %q, want distroless/static or scratch", final[:min(1, len(final))])
	}
	var user, expose string
	var cmd []string
	for _, l := range final {
		k, v, _ := strings.Cut(l, " ")
		switch k {
		case "USER":
			user = v
		case "EXPOSE":
			expose = v
		case "CMD":
			if err := json.Unmarshal([]byte(v), &cmd); err != nil {
				t.Errorf("Dockerfile: CMD %s is not exec form: %v", v, err)
			}
		}
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "0" || u == "root" {
		t.Errorf("Dockerfile: the final stage runs as %q, want a non-root user", user)
	}
	fs := mustServeFlags()
	_, port, _ := net.SplitHostPort(fs.Lookup("addr").DefValue)
	if !slices.Contains(strings.Fields(expose), port) {
		t.Errorf("Dockerfile: EXPOSE %s lacks --addr's port %s", expose, port)
	}
	if len(cmd) == 0 || cmd[0] != "serve" {
		t.Fatalf("Dockerfile: CMD %v does not run serve", cmd)
	}
	checkServeArgs(t, "Dockerfile CMD", cmd[1:], nil)
	checkEnvNames(t, "Dockerfile", fs, envNames(b))
}
