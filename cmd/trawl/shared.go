package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/crawler/monitor"
	"github.com/trawl-dev/trawl/frontier"
	redisf "github.com/trawl-dev/trawl/frontier/redis"
	"github.com/trawl-dev/trawl/internal/jobfile"
	"github.com/trawl-dev/trawl/internal/units"
	"github.com/trawl-dev/trawl/store"
)

// shared is this process's part in a crawl shared through Redis.
type shared struct {
	ctx    context.Context
	client goredis.UniversalClient
	crawl  *redisf.Crawl
	fr     *redisf.Frontier
}

// joinShared joins the crawl that o names, for the job in st: a job takes
// part in one shared crawl, and only from its start.
func joinShared(ctx context.Context, o *configs.Job, kind jobfile.Kind, st *store.Store, log *slog.Logger) (*shared, error) {
	name, epoch, err := st.File().Crawl()
	if err != nil {
		return nil, err
	}
	if name != "" && name != o.Shared.Crawl {
		return nil, usagef("%s is a job of the shared crawl %q, not %q", o.File, name, o.Shared.Crawl)
	}
	if name == "" {
		if n, _, err := st.Count(); err != nil {
			return nil, err
		} else if n > 0 {
			return nil, usagef("%s holds %d pages of a job of its own: give each process of a shared crawl a new --job", o.File, n)
		}
	}
	goredis.SetLogger(quiet{})
	client, err := redisf.Dial(ctx, o.Shared.Frontier)
	if err != nil {
		return nil, fmt.Errorf("--frontier: %w", err)
	}
	cr, err := redisf.Join(ctx, client, o.Shared.Crawl, redisf.Options{Epoch: epoch, Kind: string(kind), Settings: crawlSettings(o),
		Shards: o.Shared.Shards, Replicas: o.Shared.Replicas, Log: log})
	if errors.Is(err, redisf.ErrLayout) {
		client.Close()
		return nil, usagef("--frontier-shards %d: %v (leave --frontier-shards out to join it as it is)", o.Shared.Shards, err)
	}
	if errors.Is(err, redisf.ErrSettings) {
		client.Close()
		return nil, usagef("--crawl %s: %v: start every process of a shared crawl with the same seeds and scope settings", o.Shared.Crawl, err)
	}
	if errors.Is(err, redisf.ErrKind) {
		client.Close()
		return nil, usagef("%v: join it with 'trawl %s'", err, map[jobfile.Kind]jobfile.Kind{jobfile.CrawlJob: jobfile.FetchJob, jobfile.FetchJob: jobfile.CrawlJob}[kind])
	}
	if errors.Is(err, redisf.ErrEvicts) {
		client.Close()
		return nil, usagef("--frontier %s: %v", o.Shared.Frontier, err)
	}
	if errors.Is(err, redisf.ErrGone) {
		client.Close()
		return nil, fmt.Errorf("%w\n  %s took part in crawl %q, which Redis no longer holds: it was restarted without persistence (use appendonly yes),\n  or the keys were deleted. Nothing is re-crawled from scratch: start a new crawl with a new --crawl and new --job files", err, o.File, o.Shared.Crawl)
	}
	if err != nil {
		client.Close()
		return nil, err
	}
	if epoch == "" {
		if err := st.File().ClaimCrawl(o.Shared.Crawl, cr.Epoch()); err != nil {
			client.Close()
			return nil, err
		}
	}
	return &shared{ctx: ctx, client: client, crawl: cr}, nil
}

// options returns the crawler options that make it work in the crawl.
func (s *shared) options() []job.Option {
	return []job.Option{
		job.WithFrontier(func(fo frontier.Options) (frontier.Frontier, error) {
			var err error
			s.fr, err = s.crawl.Frontier(s.ctx, fo)
			return s.fr, err
		}),
		job.WithPolitenessState(s.crawl.State()),
	}
}

// view is the crawl-wide view the status page shows.
func (s *shared) view(ctx context.Context) (monitor.SharedView, error) {
	st, err := s.crawl.Stats(ctx)
	if err != nil {
		return monitor.SharedView{}, err
	}
	procs, err := s.crawl.Processes(ctx)
	if err != nil {
		return monitor.SharedView{}, err
	}
	v := monitor.SharedView{Crawl: s.crawl.Name(), Completed: st.Completed, Queued: st.Queued, Leased: st.Leased, Lost: st.Lost,
		Processes: make([]monitor.ProcessRow, 0, len(procs))}
	for _, p := range procs {
		v.Processes = append(v.Processes, monitor.ProcessRow{ID: p.ID, Completed: p.Completed, Leased: p.Leased, Alive: p.Alive,
			Seen: p.Seen.UTC().Format(time.RFC3339)})
	}
	return v, nil
}

// note is what the progress line says of Redis.
func (s *shared) note() string {
	if s.crawl.Down() {
		return "  REDIS UNREACHABLE, retrying"
	}
	return ""
}

// summary adds the shared crawl's lines to the end-of-run report.
func (s *shared) summary(w io.Writer) {
	if n, d := s.crawl.Outages(); n > 0 {
		fmt.Fprintf(w, "  redis     unreachable %d times, %s in all (work paused, nothing lost)\n", n, d.Round(time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if st, err := s.crawl.Stats(ctx); err == nil {
		fmt.Fprintf(w, "  crawl     %s (shared): %d pages completed, %d queued, %d leased, %d expired leases\n",
			s.crawl.Name(), st.Completed, st.Queued, st.Leased, st.Lost)
	}
}

// quiet silences go-redis's own log (connection pool retries), which would
// repeat what the Crawl reports once.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// close hands back the leases not fetched and leaves the crawl.
func (s *shared) close() {
	if s.fr != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.fr.Close(ctx)
		cancel()
	}
	s.crawl.Close()
	s.client.Close()
}

// sharedStats prints the crawl-wide view of a shared crawl.
func sharedStats(ctx context.Context, addr, name string, asJSON bool, w io.Writer) error {
	client, err := redisf.Dial(ctx, addr)
	if err != nil {
		return fmt.Errorf("--frontier: %w", err)
	}
	defer client.Close()
	cr, err := redisf.Join(ctx, client, name, redisf.Options{Existing: true})
	if errors.Is(err, redisf.ErrNoCrawl) {
		return usagef("%s holds no crawl %q", addr, name)
	}
	if err != nil {
		return err
	}
	defer cr.Close()
	s, err := cr.Stats(ctx)
	if err != nil {
		return err
	}
	procs, err := cr.Processes(ctx)
	if err != nil {
		return err
	}
	shards, nodes, err := cr.Shards(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{
			"crawl": name, "queued": s.Queued, "leased": s.Leased, "hosts": s.Hosts, "seen": s.Seen,
			"completed": s.Completed, "lost": s.Lost, "filtered": s.Filtered, "over_budget": s.OverBudget,
			"processes": procs, "shards": shards, "nodes": nodes,
		})
	}
	state := "running"
	if s.Queued == 0 && s.Leased == 0 {
		state = "done (nothing queued or leased)"
	}
	fmt.Fprintf(w, "crawl     %s on %s: %s\n", name, addr, state)
	fmt.Fprintf(w, "pages     %d completed, %d queued, %d leased, on %d hosts\n", s.Completed, s.Queued, s.Leased, s.Hosts)
	fmt.Fprintf(w, "urls      %d seen; %d duplicates dropped, %d over a host's budget\n", s.Seen, s.Filtered, s.OverBudget)
	fmt.Fprintf(w, "leases    %d expired (their process stopped extending them) and fetched again\n", s.Lost)
	alive := 0
	for _, p := range procs {
		if p.Alive {
			alive++
		}
	}
	printShards(w, shards, nodes)
	fmt.Fprintf(w, "processes %d alive, %d gone\n", alive, len(procs)-alive)
	for _, p := range procs {
		status := "alive"
		if !p.Alive {
			status = "gone, last seen " + p.Seen.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  %-36s %6d completed, %3d leased, up %s, %s\n", p.ID, p.Completed, p.Leased,
			p.Seen.Sub(p.Started).Truncate(time.Second), status)
	}
	return nil
}

// printShards prints a sharded crawl's shards, and the memory of each
// server that holds the crawl.
func printShards(w io.Writer, shards []redisf.ShardStats, nodes []redisf.NodeStats) {
	if len(shards) > 1 {
		fmt.Fprintf(w, "shards    %d, by host\n", len(shards))
		for _, sh := range shards {
			fmt.Fprintf(w, "  %-3d %-28s on %-21s %8d seen, %7d queued, %4d leased, %7d completed, %5d hosts\n",
				sh.Index, sh.Prefix, sh.Node, sh.Seen, sh.Queued, sh.Leased, sh.Done, sh.Hosts)
		}
	}
	for _, n := range nodes {
		fmt.Fprintf(w, "redis     %s: %s used, %d keys\n", n.Addr, units.FormatSize(n.Memory), n.Keys)
	}
}

// crawlSettings are the settings every process of a shared crawl must
// share: for a crawl, its seeds and what decides which links are
// followed; a fetch's processes may each add a list of their own.
func crawlSettings(o *configs.Job) string {
	if !o.Engine.Follow {
		return ""
	}
	seeds := slices.Clone(o.Seeds)
	slices.Sort(seeds)
	return fmt.Sprintf("seeds %s, scope %s, include %q, exclude %q, depth %d, max-links %d, requisites %v, sitemaps %v",
		strings.Join(seeds, " "), o.Scope.Mode, o.Scope.Include, o.Scope.Exclude, o.Engine.MaxDepth, o.Engine.MaxLinks,
		o.Engine.Requisites, o.Engine.Sitemaps)
}
