package configs

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/trawl-dev/trawl/crawler/fetch"
	"github.com/trawl-dev/trawl/internal/units"
)

// A value is where one setting lands in a Job: read from a flag's text or
// a YAML node, and written back as text for --help and the reference.
type value interface {
	Set(s string) error // as on the command line
	String() string
	Type() string              // the form the reference shows: int, duration, size…
	decode(n *yaml.Node) error // as in a config file
	want() string              // the expected form, for errors
}

type intValue struct{ p *int }

func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	*v.p = n
	return nil
}
func (v intValue) String() string            { return strconv.Itoa(*v.p) }
func (v intValue) Type() string              { return "int" }
func (v intValue) want() string              { return "a whole number" }
func (v intValue) decode(n *yaml.Node) error { return scalar(n, v) }

type floatValue struct{ p *float64 }

func (v floatValue) Set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	*v.p = f
	return nil
}
func (v floatValue) String() string            { return strconv.FormatFloat(*v.p, 'g', -1, 64) }
func (v floatValue) Type() string              { return "float" }
func (v floatValue) want() string              { return "a number" }
func (v floatValue) decode(n *yaml.Node) error { return scalar(n, v) }

type boolValue struct{ p *bool }

func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*v.p = b
	return nil
}
func (v boolValue) String() string            { return strconv.FormatBool(*v.p) }
func (v boolValue) Type() string              { return "bool" }
func (v boolValue) want() string              { return "true or false" }
func (v boolValue) decode(n *yaml.Node) error { return scalar(n, v) }

// IsBoolFlag lets the flag stand alone: --insecure means true.
func (v boolValue) IsBoolFlag() bool { return true }

type stringValue struct{ p *string }

func (v stringValue) Set(s string) error        { *v.p = s; return nil }
func (v stringValue) String() string            { return *v.p }
func (v stringValue) Type() string              { return "string" }
func (v stringValue) want() string              { return "a string" }
func (v stringValue) decode(n *yaml.Node) error { return scalar(n, v) }

type durationValue struct{ p *time.Duration }

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("bad duration %q (want e.g. 500ms, 2s, 1m)", s)
	}
	if d < 0 {
		return fmt.Errorf("duration %q must not be negative", s)
	}
	*v.p = d
	return nil
}
func (v durationValue) String() string {
	if *v.p == 0 {
		return "0" // what --help shows as no default
	}
	return v.p.String()
}
func (v durationValue) Type() string              { return "duration" }
func (v durationValue) want() string              { return "a duration such as 500ms, 2s or 1m" }
func (v durationValue) decode(n *yaml.Node) error { return scalar(n, v) }

type sizeValue struct{ p *int64 }

func (v sizeValue) Set(s string) error {
	n, err := units.ParseSize(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}
func (v sizeValue) String() string {
	if *v.p == 0 {
		return "0"
	}
	return units.FormatSize(*v.p)
}
func (v sizeValue) Type() string              { return "size" }
func (v sizeValue) want() string              { return "a size such as 512KB, 10MB or 1GB" }
func (v sizeValue) decode(n *yaml.Node) error { return scalar(n, v) }

// listValue is a repeatable flag: each use adds one; the first use on the
// command line replaces what the config file gave.
type listValue struct {
	p       *[]string
	changed *bool
}

func (v listValue) Set(s string) error {
	if !*v.changed {
		*v.p, *v.changed = nil, true
	}
	*v.p = append(*v.p, s)
	return nil
}
func (v listValue) String() string { return strings.Join(*v.p, ",") }
func (v listValue) Type() string   { return "strings" }
func (v listValue) want() string   { return "a list of strings" }
func (v listValue) decode(n *yaml.Node) error {
	var l []string
	if n.Kind == yaml.ScalarNode {
		l = []string{n.Value}
	} else if err := n.Decode(&l); err != nil {
		return errWant
	}
	*v.p = l
	return nil
}

// headerValue is --header: "Name: value" or @FILE of such lines, on the
// command line; a map of names to values, or a list of such lines, in a
// config file.
type headerValue struct {
	p       *http.Header
	changed *bool
}

func (v headerValue) Set(s string) error {
	if !*v.changed {
		*v.p, *v.changed = nil, true
	}
	return v.add(s)
}

func (v headerValue) add(spec string) error {
	lines := []string{spec}
	if name, ok := strings.CutPrefix(spec, "@"); ok {
		data, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("@%s: %w", name, err)
		}
		lines = strings.Split(string(data), "\n")
	}
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") && spec != line {
			continue
		}
		k, val, _ := strings.Cut(line, ":")
		if err := v.put(k, val, line); err != nil {
			return err
		}
	}
	return nil
}

func (v headerValue) put(k, val, line string) error {
	k = strings.TrimSpace(k)
	if k == "" || strings.ContainsAny(k, " \t\r\n") || strings.ContainsAny(val, "\r\n") || !strings.Contains(line, ":") {
		return fmt.Errorf("%q: want 'Name: value'", redactLine(line))
	}
	if *v.p == nil {
		*v.p = http.Header{}
	}
	v.p.Add(k, strings.TrimSpace(val))
	return nil
}

func (v headerValue) String() string { return "" }
func (v headerValue) Type() string   { return "header" }
func (v headerValue) want() string {
	return "a map of header names to values, or a list of 'Name: value' lines"
}
func (v headerValue) decode(n *yaml.Node) error {
	*v.p = nil
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if val.Kind != yaml.ScalarNode {
				return errWant
			}
			if err := v.put(k.Value, val.Value, k.Value+": "+val.Value); err != nil {
				return err
			}
		}
		return nil
	case yaml.SequenceNode, yaml.ScalarNode:
		var l []string
		if n.Kind == yaml.ScalarNode {
			l = []string{n.Value}
		} else if err := n.Decode(&l); err != nil {
			return errWant
		}
		for _, s := range l {
			if err := v.add(s); err != nil {
				return err
			}
		}
		return nil
	}
	return errWant
}

// redactLine shows a bad header line without its value.
func redactLine(line string) string {
	if k, _, ok := strings.Cut(line, ":"); ok {
		return k + ": " + fetch.Redacted
	}
	if len(line) > 20 {
		return line[:20] + "…"
	}
	return line
}

// scalar decodes a YAML scalar through v's Set.
func scalar(n *yaml.Node, v value) error {
	if n.Kind != yaml.ScalarNode {
		return errWant
	}
	return v.Set(n.Value)
}
