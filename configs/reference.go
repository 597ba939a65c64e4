package configs

import (
	"fmt"
	"strings"
)

// Reference returns the config reference in Markdown: every setting with
// its flag, YAML key, type, default, commands and help, by group. It is
// docs/config.md (a test holds the file to it).
func Reference() string {
	var b strings.Builder
	b.WriteString("# Config reference\n\n")
	b.WriteString("Every setting of `trawl crawl` and `trawl fetch`, generated from its one declaration\n")
	b.WriteString("(`configs/settings.go`). A setting is a flag, `--name`, and a key of a YAML config,\n")
	b.WriteString("`name` with `_` for `-`; flags override the config (`--config FILE`). Sizes are\n")
	b.WriteString("written 512KB, 10MB, 1GB; durations 500ms, 2s, 1m. A config may use `${VAR}` for\n")
	b.WriteString("values from the environment (secrets stay out of the file).\n")
	group := ""
	for _, s := range append(Settings(), ruleKeys...) {
		if s.Group != group {
			group = s.Group
			fmt.Fprintf(&b, "\n## %s\n\n| flag | YAML key | type | default | commands | what it does |\n|---|---|---|---|---|---|\n", group)
		}
		flag, key := "`--"+s.Name+"`", "`"+s.Key()+"`"
		if s.Short != "" {
			flag += ", `-" + s.Short + "`"
		}
		switch s.Only {
		case FlagOnly:
			key = "—"
		case FileOnly:
			flag = "—"
		}
		if s.Alias != "" {
			key += " (or `" + s.Alias + "`)"
		}
		typ, def := "rules", s.Default
		if s.bind != nil {
			typ = s.Type()
		}
		if def == "" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		text := s.Help
		if s.Doc != "" {
			text = s.Doc
		}
		cmds := map[Command]string{Crawl: "crawl", Fetch: "fetch", Both: "crawl, fetch"}[s.Cmds]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", flag, key, typ, def, cmds, strings.ReplaceAll(text, "|", "\\|"))
	}
	return b.String()
}
