package warc

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"
)

// CDXJ: with Options.CDX, each closed file gets an index beside it
// (NAME.cdxj for NAME.warc.gz): one line a response or revisit record,
// "SURT TIMESTAMP {json}", sorted, as pywb reads it.

// cdxLine is one line of a CDXJ index.
type cdxLine struct {
	key  string // SURT and timestamp
	json []byte
}

type cdxFields struct {
	URL      string `json:"url"`
	Mime     string `json:"mime"`
	Status   string `json:"status"`
	Digest   string `json:"digest"`
	Length   string `json:"length"`
	Offset   string `json:"offset"`
	Filename string `json:"filename"`
}

// cdxEntry makes the line of a record at offset, length bytes long, in
// file.
func cdxEntry(uri string, date time.Time, typ string, head []byte, digest, file string, offset, length int64) cdxLine {
	f := cdxFields{URL: uri, Digest: strings.TrimPrefix(digest, "sha1:"), Length: fmt.Sprint(length),
		Offset: fmt.Sprint(offset), Filename: file, Mime: "warc/revisit"}
	if resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(head))), nil); err == nil {
		f.Status = fmt.Sprint(resp.StatusCode)
		if typ == "revisit" && resp.StatusCode == http.StatusNotModified {
			// A server-not-modified revisit stands for the 200 it refers
			// to (trawl asks conditionally only for those): replayers
			// (wabac.js) serve the status the index gives, and a 304
			// has no body to show.
			f.Status = "200"
		}
		if typ == "response" {
			f.Mime = strings.TrimSpace(strings.Split(resp.Header.Get("Content-Type"), ";")[0])
			if f.Mime == "" {
				f.Mime = "unk"
			}
		}
	}
	data, _ := json.Marshal(f)
	return cdxLine{key: SURT(uri) + " " + date.UTC().Format("20060102150405"), json: data}
}

// writeCDX writes the index of the file at path.
func writeCDX(path string, lines []cdxLine) error {
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].key < lines[j].key })
	out := strings.TrimSuffix(path, ".warc.gz") + ".cdxj"
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	for _, l := range lines {
		fmt.Fprintf(bw, "%s %s\n", l.key, l.json)
	}
	err = bw.Flush()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	return err
}

// Index writes the CDXJ index of the WARC file at path, from its records.
func Index(path string) error {
	lines, err := indexLines(path)
	if err != nil {
		return err
	}
	return writeCDX(path, lines)
}

// IndexLines returns the CDXJ lines of the WARC file at path ("SURT
// TIMESTAMP {json}", its records in file order), naming the file by its
// base name.
func IndexLines(path string) ([]string, error) {
	lines, err := indexLines(path)
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.key + " " + string(l.json)
	}
	return out, err
}

func indexLines(path string) ([]cdxLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []cdxLine
	r := NewReader(f)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if t := rec.Type(); t == "response" || t == "revisit" {
			date, _ := time.Parse(time.RFC3339Nano, rec.Header.Get("WARC-Date"))
			lines = append(lines, cdxEntry(rec.Header.Get("WARC-Target-URI"), date, t, rec.Block,
				rec.Header.Get("WARC-Payload-Digest"), baseName(path), rec.Offset, r.Offset()-rec.Offset))
		}
	}
	return lines, nil
}

func baseName(p string) string { return p[strings.LastIndexAny(p, `/\`)+1:] }

// SURT returns the Sort-friendly URI Reordering Transform of a URL, as
// pywb keys its indexes: the host's labels reversed and comma-joined
// ("www." dropped), the port unless it is the scheme's, then ")" and the
// path and query, lower-cased, with the query's parameters sorted.
func SURT(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return strings.ToLower(raw)
	}
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	labels := strings.Split(host, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	key := strings.Join(labels, ",")
	if p := u.Port(); p != "" && !(p == "80" && u.Scheme == "http" || p == "443" && u.Scheme == "https") {
		key += ":" + p
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	key += ")" + strings.ToLower(path)
	if u.RawQuery != "" {
		params := strings.Split(u.RawQuery, "&")
		sort.Strings(params)
		key += "?" + strings.ToLower(strings.Join(params, "&"))
	}
	return key
}
