package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/internal/units"
)

// ErrHelp is returned by Parse when --help was asked for.
var ErrHelp = errors.New("help requested")

// Flags returns the flag set of cmd bound to j: each flag's default is
// j's value. Flags that are set are recorded in j (see Job.Set).
func Flags(cmd Command, j *Job) *pflag.FlagSet {
	fs := pflag.NewFlagSet(cmd.String(), pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	for _, s := range Settings() {
		if s.Cmds&cmd == 0 || s.Only == FileOnly {
			continue
		}
		var v pflag.Value = flagValue{s.bind(j), j, s.Name}
		_, isBool := s.bind(j).(boolValue)
		if isBool {
			v = boolFlagValue{v.(flagValue)}
		}
		fl := fs.VarPF(v, s.Name, s.Short, s.Help)
		if isBool {
			fl.NoOptDefVal = "true"
		}
		if s.Bare != "" {
			fl.NoOptDefVal = s.Bare
		}
	}
	fs.BoolP("help", "h", false, "show this help")
	return fs
}

// flagValue records in the job that its setting was given.
type flagValue struct {
	value
	j    *Job
	name string
}

func (v flagValue) Set(s string) error {
	if err := v.value.Set(s); err != nil {
		return err
	}
	v.j.mark(v.name)
	return nil
}

// boolFlagValue is a flagValue that may stand alone: --insecure.
type boolFlagValue struct{ flagValue }

// IsBoolFlag is pflag's question of a value: may the flag stand alone?
func (boolFlagValue) IsBoolFlag() bool { return true }

func (j *Job) mark(name string) {
	if j.set == nil {
		j.set = map[string]bool{}
	}
	j.set[name] = true
}

// Parse reads cmd's settings from args: the defaults, then the config file
// --config names, then the flags. It checks them (see Check) and returns
// the job with its derived defaults resolved (see Resolve), and the
// positional arguments. Its errors wrap ErrUsage, or are ErrHelp.
func Parse(cmd Command, args []string) (*Job, []string, error) {
	j := Default(cmd)
	fs := Flags(cmd, &j)
	if err := ParseFlags(fs, args); err != nil {
		return nil, nil, err
	}
	if j.Config != "" {
		path := j.Config
		j = Default(cmd)
		if err := Load(cmd, path, &j); err != nil {
			return nil, nil, err
		}
		fs = Flags(cmd, &j)
		if err := ParseFlags(fs, args); err != nil {
			return nil, nil, err
		}
	}
	if err := j.Check(cmd); err != nil {
		return nil, nil, err
	}
	r := j.Resolve()
	return &r, fs.Args(), nil
}

// ParseFlags parses args with fs: its errors wrap ErrUsage, or are ErrHelp
// when -h or --help was given.
func ParseFlags(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(joinWords(args)); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return ErrHelp
		}
		return usagef("%v", err)
	}
	if h, _ := fs.GetBool("help"); h {
		return ErrHelp
	}
	return nil
}

// joinWords joins a flag that may stand alone and the word after it that
// is one of its values: --render auto is --render=auto.
func joinWords(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--" {
			return append(out, args[i:]...)
		}
		out = append(out, args[i])
		for _, s := range Settings() {
			if s.Bare != "" && args[i] == "--"+s.Name && i+1 < len(args) && slices.Contains(s.Words, args[i+1]) {
				out[len(out)-1] += "=" + args[i+1]
				i++
				break
			}
		}
	}
	return out
}

// Check reports the first mistake in j's settings for cmd. It does not
// change j.
func (j *Job) Check(cmd Command) error {
	for _, s := range Settings() {
		if s.check == nil || s.Cmds&cmd == 0 {
			continue
		}
		if err := s.check(j); err != nil {
			return err
		}
	}
	switch {
	case j.Download.Dir == "" && (j.Download.Layout != "" || j.Download.Checksums != ""):
		return usagef("--layout and --checksums need --out-dir")
	case j.WARC.Dir != "" && j.WARC.MaxSize < 64<<10:
		return usagef("--warc-max-size %s: at least 64KB", units.FormatSize(j.WARC.MaxSize))
	case j.WARC.Dir != "" && (j.WARC.Prefix == "" || strings.ContainsAny(j.WARC.Prefix, `/\`)):
		return usagef("--warc-prefix %q: a name, no slashes", j.WARC.Prefix)
	case j.Render.On() && j.Download.Dir != "":
		return usagef("--render runs pages kept in the job: not with --out-dir, whose bodies go to files")
	case j.Recrawl && j.Shared.Frontier != "":
		return usagef("--recrawl runs passes over a job's own frontier; a shared crawl (--frontier) cannot run them yet")
	}
	return nil
}

// Resolve returns j with the defaults that depend on other settings
// filled in: --deny-private is on for a crawl whose scope reaches beyond
// its seeds' hosts, downloads to --out-dir have no --max-body unless
// one is given, and --browsers is the machine's cores unless given.
func (j Job) Resolve() Job {
	if !j.Set("deny-private") {
		j.Fetch.DenyPrivate = j.Engine.Follow && j.Scope.Mode.Reaches()
	}
	if j.Download.Dir != "" && !j.Set("max-body") {
		j.Fetch.MaxBody = 0 // downloads stream to disk: no cap unless asked for
	}
	if j.Fetch.UserAgent == "" {
		j.Fetch.UserAgent = crawler.DefaultUserAgent
	}
	if j.Render.Browsers <= 0 {
		j.Render.Browsers = runtime.NumCPU()
	}
	return j
}

// Patterns are bounded in number and size.
const (
	maxPatterns    = 1000
	maxPatternSize = 16 << 10
)

func patterns(get func(*Job) []string) func(*Job) error {
	return func(j *Job) error {
		list := get(j)
		seen := map[string]bool{}
		for _, p := range list {
			if len(p) > maxPatternSize {
				return usagef("a pattern of %s is over %s", units.FormatSize(int64(len(p))), units.FormatSize(maxPatternSize))
			}
			seen[p] = true
		}
		if len(seen) > maxPatterns {
			return usagef("%d patterns, more than %d", len(seen), maxPatterns)
		}
		return nil
	}
}

// checkProxy checks --proxy and --no-proxy.
func checkProxy(j *Job) error {
	s := j.Fetch.Proxy
	if s == "" {
		return nil
	}
	if j.Fetch.NoProxy {
		return usagef("--proxy and --no-proxy together: choose one")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return usagef("--proxy %q: want http://HOST:PORT, https://… or socks5://…", s)
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
		return nil
	}
	return usagef("--proxy %q: scheme %q (want http, https or socks5)", s, u.Scheme)
}

// CheckShared checks the --frontier and --crawl of a command that reads a
// shared crawl.
func CheckShared(frontier, crawl string) error {
	j := Default(Crawl)
	j.Shared = Shared{Frontier: frontier, Crawl: crawl}
	return checkShared(&j)
}

// checkShared checks the settings of a shared crawl.
func checkShared(j *Job) error {
	o := j.Shared
	switch {
	case o.Frontier == "" && o.Crawl != "":
		return usagef("--crawl names a shared crawl: it needs --frontier redis://HOST:PORT/DB")
	case o.Frontier == "":
		return nil
	case o.Crawl == "":
		return usagef("--frontier needs --crawl NAME: the name of the shared crawl")
	case strings.ContainsAny(o.Crawl, "{}"):
		return usagef("--crawl %q: a name without braces", o.Crawl)
	case j.Engine.Lease < time.Second:
		return usagef("--lease %s: at least 1s", j.Engine.Lease)
	}
	scheme, rest, _ := strings.Cut(o.Frontier, "://")
	switch scheme {
	case "redis", "rediss", "unix":
		return nil
	case "redis+cluster", "rediss+cluster":
		nodes, path, _ := strings.Cut(rest, "/")
		nodes, _, _ = strings.Cut(nodes, "?")
		if nodes == "" || strings.HasSuffix(nodes, "@") || strings.Contains(","+nodes+",", ",,") {
			return usagef("--frontier %q: name a node of the cluster at least (redis+cluster://HOST:PORT,HOST:PORT)", o.Frontier)
		}
		if db, _, _ := strings.Cut(path, "?"); db != "" && db != "0" {
			return usagef("--frontier %q: a Redis Cluster has only database 0", o.Frontier)
		}
		return nil
	}
	return usagef("--frontier %q: want redis://HOST:PORT/DB, rediss://…, unix:///path/to/socket or redis+cluster://HOST:PORT,HOST:PORT", o.Frontier)
}

// Load reads the config file at path into j, for cmd. Its errors name the
// file, the line and the key, and what the key wants.
func Load(cmd Command, path string, j *Job) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usagef("config: %v", err)
	}
	if data, err = expandEnv(data); err != nil {
		return usagef("config %s: %v", path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return usagef("config %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := checkExpansion(&doc); err != nil {
		return usagef("config %s: %v", path, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return usagef("config %s: line %d: want a map of settings (key: value)", path, root.Line)
	}
	j.Config = path
	for k := 0; k+1 < len(root.Content); k += 2 {
		if err := j.loadKey(cmd, root.Content[k], root.Content[k+1]); err != nil {
			return usagef("config %s: line %d: %v", path, root.Content[k].Line, err)
		}
	}
	return nil
}

// errWant is a value's complaint that a node is not of its form.
var errWant = errors.New("not of the expected form")

func (j *Job) loadKey(cmd Command, key, val *yaml.Node) error {
	switch key.Value {
	case "follow", "extract":
		if key.Value == "follow" && cmd == Fetch {
			return fmt.Errorf("follow is a crawl setting (fetch follows no links)")
		}
		return decodeRules(key, val, &j.Rules)
	}
	s, ok := lookup(key.Value)
	if !ok || s.Only == FlagOnly {
		return fmt.Errorf("unknown key %q", key.Value)
	}
	if s.Cmds&cmd == 0 {
		other := Crawl
		if cmd == Crawl {
			other = Fetch
		}
		return fmt.Errorf("%s is a %s setting, not a %s one", key.Value, other, cmd)
	}
	v := s.bind(j)
	if err := v.decode(val); err != nil {
		if errors.Is(err, errWant) {
			return fmt.Errorf("key %q: want %s", key.Value, v.want())
		}
		return fmt.Errorf("key %q: %v", key.Value, err)
	}
	j.mark(s.Name)
	return nil
}

// maxConfigExpansion bounds a config with its aliases expanded: a few
// aliases of a large anchor must not take the memory of the machine.
const maxConfigExpansion = 4 << 20

// checkExpansion refuses a config that YAML aliases would blow up, reading
// it as a node tree, where an alias is one node whatever it stands for.
func checkExpansion(doc *yaml.Node) error {
	memo := map[*yaml.Node]int64{}
	var size func(n *yaml.Node) int64
	size = func(n *yaml.Node) int64 {
		if n == nil {
			return 0
		}
		if v, ok := memo[n]; ok {
			return v
		}
		memo[n] = maxConfigExpansion + 1 // a cycle counts as too big
		v := int64(len(n.Value)) + 1 + size(n.Alias)
		for _, c := range n.Content {
			if v += size(c); v > maxConfigExpansion {
				break
			}
		}
		memo[n] = min(v, maxConfigExpansion+1)
		return memo[n]
	}
	if size(doc) > maxConfigExpansion {
		return fmt.Errorf("with its aliases expanded the config is over %s; write the values out", units.FormatSize(maxConfigExpansion))
	}
	return nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces each ${VAR} in a config with the variable's value, so
// that secrets stay in the environment and out of config files; an unset
// variable is an error. ($VAR without braces is left alone: regexps use $.)
func expandEnv(data []byte) ([]byte, error) {
	var missing []string
	out := envRef.ReplaceAllFunc(data, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := os.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("${%s} is not set in the environment", strings.Join(missing, "}, ${"))
	}
	return bytes.Clone(out), nil
}

// decodeRules decodes the rules key into r, refusing keys the rules do
// not have.
func decodeRules(key, val *yaml.Node, r any) error {
	data, err := yaml.Marshal(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{key, val}})
	if err == nil {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		err = dec.Decode(r)
	}
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
		msg = unknownField.ReplaceAllString(msg, "unknown key $1")
		msg = lineRef.ReplaceAllString(msg, "")
		return fmt.Errorf("key %q: %s", key.Value, strings.ReplaceAll(msg, "in type rules.", "in "))
	}
	return nil
}

var (
	unknownField = regexp.MustCompile(`field (\S+) not found`)
	lineRef      = regexp.MustCompile(`line \d+: `)
)
