package crawler_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"

	"github.com/trawl-dev/trawl/configs"
	"github.com/trawl-dev/trawl/crawler/crawltest"
	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/crawler/rules"
	"github.com/trawl-dev/trawl/store"
)

// A job run against an in-process http.Handler, with no sockets, and its
// results read back from the store.
func Example() {
	site := http.NewServeMux()
	site.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<a href="/about">about</a> <a href="/blog#top">blog</a> <a href="https://elsewhere.example/">away</a>`)
	})
	site.HandleFunc("/about", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `<a href="/">home</a>`) })
	site.HandleFunc("/blog", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusGone) })

	dir, _ := os.MkdirTemp("", "trawl-example-")
	defer os.RemoveAll(dir)
	st, err := store.Open(filepath.Join(dir, "job.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	cfg := configs.Default(configs.Crawl)
	cfg.Seeds = []string{"http://site.example/"}
	c, err := job.New(st, cfg, job.WithTransport(crawltest.HandlerTransport(site)))
	if err != nil {
		log.Fatal(err)
	}
	sum, err := c.Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sum.Reason, sum.Stored, "pages,", sum.Offsite, "link outside the scope")
	for _, u := range []string{"http://site.example/", "http://site.example/about", "http://site.example/blog"} {
		r, err := st.Get(u)
		if err != nil || r == nil {
			log.Fatal("no record of ", u, err)
		}
		fmt.Println(r.Status, r.Depth, r.URL)
	}
	// Output:
	// done 3 pages, 1 link outside the scope
	// 200 0 http://site.example/
	// 200 1 http://site.example/about
	// 410 1 http://site.example/blog
}

// Declarative rules: follow only pagination and product links, and make a
// typed item of each product page.
func Example_rules() {
	shop := http.NewServeMux()
	shop.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<a class=product href="/item/1">1</a> <a class=product href="/item/2">2</a> <a href="/cart">cart</a>`)
	})
	shop.HandleFunc("/item/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<h1> Widget %[1]s </h1><span class=price>$%[1]s.50</span><img src="/img/%[1]s.jpg">`, r.URL.Path[len("/item/"):])
	})

	rs, err := rules.Compile(rules.Rules{
		Follow: []string{"a.product"},
		Extract: []rules.Rule{{
			Name:  "product",
			Match: "/item/",
			Fields: map[string]rules.Field{
				"title": {Selector: "h1"},
				"price": {Selector: ".price", Type: "number"},
				"image": {Selector: "img", Attr: "src", URL: true},
			},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "trawl-example-")
	defer os.RemoveAll(dir)
	st, err := store.Open(filepath.Join(dir, "job.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	cfg := configs.Default(configs.Crawl)
	cfg.Seeds = []string{"http://shop.example/list"}
	c, err := job.New(st, cfg, job.WithTransport(crawltest.HandlerTransport(shop)), job.WithExtractor(rs))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
	st.Items("product", func(it *store.Item) error {
		fmt.Println(it.URL, it.Fields["title"], it.Fields["price"], it.Fields["image"])
		return nil
	})
	// Unordered output:
	// http://shop.example/item/1 Widget 1 1.5 http://shop.example/img/1.jpg
	// http://shop.example/item/2 Widget 2 2.5 http://shop.example/img/2.jpg
}
