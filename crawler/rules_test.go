package crawler_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trawl-dev/trawl/crawler"
	"github.com/trawl-dev/trawl/crawler/job"
	"github.com/trawl-dev/trawl/crawler/page"
	"github.com/trawl-dev/trawl/crawler/rules"
	"github.com/trawl-dev/trawl/internal/testsite"
	"github.com/trawl-dev/trawl/store"
)

var shopRules = rules.Rules{
	Follow: []string{"a.next", "a.product"},
	Extract: []rules.Rule{{
		Name:  "product",
		Match: "/shop/item/",
		Fields: map[string]rules.Field{
			"title": {Selector: "h1.name"},
			"price": {Selector: "span.price", Type: "number"},
			"tags":  {Selector: "ul.tags li", All: true},
			"image": {Selector: "img.main", Attr: "src", URL: true},
		},
	}},
}

func crawlShop(t *testing.T, st *store.Store, shop *testsite.Shop, r rules.Rules) (*crawler.Summary, string) {
	t.Helper()
	srv := httptest.NewServer(shop)
	t.Cleanup(srv.Close)
	rs, err := rules.Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	c, err := job.New(st, testConfig(srv.URL+"/shop/list/1"), job.WithExtractor(rs))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sum, srv.URL
}

// The rules follow only list and product links, and make one item of
// each product page with typed fields.
func TestRulesShop(t *testing.T) {
	shop := testsite.NewShop(200, 20)
	st := openStore(t)
	sum, base := crawlShop(t, st, shop, shopRules)

	hits := shop.Hits()
	for p, n := range hits {
		if !strings.HasPrefix(p, "/shop/") {
			t.Errorf("noise page %s fetched %d times", p, n)
		} else if n != 1 {
			t.Errorf("%s fetched %d times", p, n)
		}
	}
	if len(hits) != 210 {
		t.Errorf("%d pages fetched, want 10 lists and 200 items", len(hits))
	}
	if sum.Items != 200 || sum.ExtractErrors != 0 {
		t.Errorf("summary: %d items, %d extraction errors", sum.Items, sum.ExtractErrors)
	}
	seen := map[string]bool{}
	err := st.Items("product", func(it *store.Item) error {
		var i int
		if _, err := fmt.Sscanf(it.URL, base+"/shop/item/%d", &i); err != nil {
			return fmt.Errorf("item URL %s", it.URL)
		}
		want := map[string]any{
			"title": testsite.ItemName(i),
			"price": testsite.ItemPrice(i),
			"tags":  []any{testsite.ItemTags(i)[0], testsite.ItemTags(i)[1]},
			"image": base + testsite.ItemImage(i),
		}
		if !reflect.DeepEqual(it.Fields, want) {
			return fmt.Errorf("item %d: %#v, want %#v", i, it.Fields, want)
		}
		if it.Type != "product" || it.FetchedAt.IsZero() || seen[it.URL] {
			return fmt.Errorf("item %+v (seen before: %v)", it, seen[it.URL])
		}
		seen[it.URL] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 200 {
		t.Errorf("%d items, want 200", len(seen))
	}
}

// A required field that is missing makes the page an extraction error,
// saved with its record, and the item is not made.
func TestRulesRequired(t *testing.T) {
	shop := testsite.NewShop(5, 5)
	st := openStore(t)
	bad := rules.Rules{Extract: []rules.Rule{{
		Name: "product", Match: "/shop/item/",
		Fields: map[string]rules.Field{"title": {Selector: "h1.name"}, "sku": {Selector: ".nope", Required: true}},
	}}}
	sum, base := crawlShop(t, st, shop, bad)
	if sum.Items != 0 || sum.ExtractErrors != 5 {
		t.Errorf("%d items, %d extraction errors; want 0 and 5", sum.Items, sum.ExtractErrors)
	}
	r, err := st.Get(base + "/shop/item/3")
	if err != nil || r == nil {
		t.Fatal(r, err)
	}
	if !strings.Contains(r.ExtractError, `"sku"`) || r.Status != 200 {
		t.Errorf("record %+v: want status 200 and an extraction error naming sku", r)
	}
}

func TestRulesJSON(t *testing.T) {
	body := `{"data":{"items":[{"name":"a","price":"$1.50","link":"/x/1"},{"name":"b","price":2,"link":"/x/2"}]}}`
	u, _ := url.Parse("http://h/api?page=1")
	page := page.New(u, "application/json", []byte(body), time.Now())
	rs, err := rules.Compile(rules.Rules{Extract: []rules.Rule{
		{Name: "names", Fields: map[string]rules.Field{"names": {JSON: "data.items.#.name"}}},
		{Name: "row", Each: "data.items", Fields: map[string]rules.Field{
			"name":  {JSON: "name", Required: true},
			"price": {JSON: "price", Type: "number"},
			"link":  {JSON: "link", URL: true},
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	items, _, err := rs.Extract(page)
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]any{
		{"names": []any{"a", "b"}},
		{"name": "a", "price": 1.5, "link": "http://h/x/1"},
		{"name": "b", "price": 2.0, "link": "http://h/x/2"},
	}
	if len(items) != len(want) {
		t.Fatalf("%d items, want %d: %+v", len(items), len(want), items)
	}
	for i := range want {
		if !reflect.DeepEqual(items[i].Fields, want[i]) {
			t.Errorf("item %d: %#v, want %#v", i, items[i].Fields, want[i])
		}
	}
}

// each makes one item per selected element, fields relative to it.
func TestRulesEach(t *testing.T) {
	body := `<ul><li class=p><b>A</b><i>1,50 €</i></li><li class=p><b>B</b></li><li class=p><i>3</i></li></ul>`
	u, _ := url.Parse("http://h/list")
	rs, err := rules.Compile(rules.Rules{Extract: []rules.Rule{{
		Name: "p", Each: "li.p",
		Fields: map[string]rules.Field{"name": {Selector: "b", Required: true}, "price": {Selector: "i", Type: "number"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	items, _, err := rs.Extract(page.New(u, "text/html", []byte(body), time.Now()))
	if err == nil || !strings.Contains(err.Error(), "item 3") {
		t.Errorf("error %v, want one naming item 3", err)
	}
	want := []map[string]any{{"name": "A", "price": 1.5}, {"name": "B", "price": nil}}
	if len(items) != 2 || !reflect.DeepEqual(items[0].Fields, want[0]) || !reflect.DeepEqual(items[1].Fields, want[1]) {
		t.Errorf("items %+v, want %v", items, want)
	}
}

func TestCompileRulesErrors(t *testing.T) {
	for _, c := range []struct {
		in   rules.Rules
		want string
	}{
		{rules.Rules{Follow: []string{"a[href"}}, "follow: bad CSS selector"},
		{rules.Rules{Extract: []rules.Rule{{Name: "p", Match: "(", Fields: map[string]rules.Field{"a": {Selector: "b"}}}}}, `"p": bad match regexp`},
		{rules.Rules{Extract: []rules.Rule{{Name: "p", Fields: map[string]rules.Field{"a": {Selector: "b[["}}}}}, `"p": field "a": bad CSS selector`},
		{rules.Rules{Extract: []rules.Rule{{Name: "p", Fields: map[string]rules.Field{"a": {Selector: "b", Type: "date"}}}}}, `unknown type "date"`},
		{rules.Rules{Extract: []rules.Rule{{Name: "p", Fields: map[string]rules.Field{"url": {Selector: "b"}}}}}, "reserved"},
		{rules.Rules{Extract: []rules.Rule{{Name: "p", Fields: map[string]rules.Field{"a": {}}}}}, "selector or a json path"},
		{rules.Rules{Extract: []rules.Rule{{Name: "p"}}}, "no fields"},
		{rules.Rules{Extract: []rules.Rule{{Fields: map[string]rules.Field{"a": {Selector: "b"}}}}}, "no name"},
		{rules.Rules{Extract: []rules.Rule{{Name: "p", Fields: map[string]rules.Field{"a": {Selector: "b"}, "c": {JSON: "d"}}}}}, "mixes"},
	} {
		_, err := rules.Compile(c.in)
		if !errors.Is(err, crawler.ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want ErrConfig with %q", c.in, err, c.want)
		}
	}
}

func TestParseNumber(t *testing.T) {
	for in, want := range map[string]float64{
		"$21.99": 21.99, "1,234.50 €": 1234.5, "21,99 €": 21.99, "1.234,5": 1234.5,
		"1,234": 1234, "1,234,567": 1234567, "-3": -3, "USD 7": 7, "0.5": 0.5, "1.234": 1.234,
	} {
		if got, ok := rules.ParseNumber(in); !ok || got != want {
			t.Errorf("ParseNumber(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "free", "-", "..."} {
		if got, ok := rules.ParseNumber(in); ok {
			t.Errorf("ParseNumber(%q) = %v, want no number", in, got)
		}
	}
}

// A custom Extractor replaces the rules: its links are the only ones
// followed, and its items are saved.
type titleOnly struct{}

func (titleOnly) Extract(p *page.Page) ([]store.Item, []string, error) {
	doc := p.HTML()
	if doc == nil {
		return nil, nil, nil
	}
	items := []store.Item{{Type: "title", URL: p.URL.String(), Fields: map[string]any{"h1": doc.Find("h1").First().Text()}}}
	var links []string
	if next, ok := doc.Find("a.next").Attr("href"); ok {
		u, _ := p.Base().Parse(next)
		links = append(links, u.String())
	}
	return items, links, nil
}

func TestCustomExtractor(t *testing.T) {
	shop := testsite.NewShop(100, 10)
	srv := httptest.NewServer(shop)
	defer srv.Close()
	st := openStore(t)
	c, err := job.New(st, testConfig(srv.URL+"/shop/list/1"), job.WithExtractor(titleOnly{}))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if shop.Requests() != 10 || sum.Items != 10 {
		t.Errorf("%d requests and %d items, want 10 list pages and their 10 items", shop.Requests(), sum.Items)
	}
}

func TestRuleKey(t *testing.T) {
	ok := rules.Rules{Extract: []rules.Rule{{Name: "product", Key: "sku", Fields: map[string]rules.Field{"sku": {Selector: ".sku"}}}}}
	if _, err := rules.Compile(ok); err != nil {
		t.Fatal(err)
	}
	if k := ok.Keys(); k["product"] != "sku" || len(k) != 1 {
		t.Errorf("keys %v", k)
	}
	bad := rules.Rules{Extract: []rules.Rule{{Name: "product", Key: "id", Fields: map[string]rules.Field{"sku": {Selector: ".sku"}}}}}
	if _, err := rules.Compile(bad); err == nil || !strings.Contains(err.Error(), `key "id" is not one of its fields`) {
		t.Errorf("a key that is no field: %v", err)
	}
}
