package testsite

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Shop is a synthetic shop for extraction tests: list pages /shop/list/1…
// of PerPage product links (a.product) and a next link (a.next), item
// pages /shop/item/1… with a name, price, tags and image, and noise links
// everywhere (/noise/…, /about) that extraction rules should not follow.
type Shop struct {
	Items   int
	PerPage int
	Delay   time.Duration // before each answer but robots.txt

	hits Counter // robots.txt aside
}

// NewShop returns a shop of n items, perPage a list page.
func NewShop(n, perPage int) *Shop {
	return &Shop{Items: n, PerPage: perPage}
}

// Lists returns how many list pages the shop has.
func (s *Shop) Lists() int { return (s.Items + s.PerPage - 1) / s.PerPage }

// ItemName, ItemPrice and ItemTags are what item i's page shows.
func ItemName(i int) string   { return fmt.Sprintf("Widget %d", i) }
func ItemPrice(i int) float64 { return float64(i) + 0.99 }
func ItemTags(i int) []string { return []string{"widgets", "size-" + strconv.Itoa(i%3)} }
func ItemImage(i int) string  { return fmt.Sprintf("/img/%d.jpg", i) }
func itemPath(i int) string   { return fmt.Sprintf("/shop/item/%d", i) }
func listPath(k int) string   { return fmt.Sprintf("/shop/list/%d", k) }

// Hits returns how many requests each path received, robots.txt aside.
func (s *Shop) Hits() map[string]int { return s.hits.Hits() }

// Requests returns how many requests the shop received, robots.txt aside.
func (s *Shop) Requests() int {
	n := 0
	for _, v := range s.Hits() {
		n += v
	}
	return n
}

func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/robots.txt" {
		http.NotFound(w, r)
		return
	}
	s.hits.Add(r.URL.Path)
	if s.Delay > 0 {
		select {
		case <-time.After(s.Delay):
		case <-r.Context().Done():
			return
		}
	}
	const noise = `<nav><a href="/about">About</a> <a href="/noise/cart">Cart</a></nav>`
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch {
	case strings.HasPrefix(r.URL.Path, "/shop/list/"):
		k, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/shop/list/"))
		if err != nil || k < 1 || k > s.Lists() {
			http.NotFound(w, r)
			return
		}
		var b strings.Builder
		fmt.Fprintf(&b, "<html><body>%s<h1>Page %d</h1><div class=grid>", noise, k)
		for i := (k-1)*s.PerPage + 1; i <= min(k*s.PerPage, s.Items); i++ {
			fmt.Fprintf(&b, `<div class=card><a class="product" href="%s">%s</a> <a href="/noise/wish/%d">wish</a></div>`, itemPath(i), ItemName(i), i)
		}
		b.WriteString("</div>")
		if k < s.Lists() {
			fmt.Fprintf(&b, `<a class="next" href="%s">next</a>`, listPath(k+1))
		}
		b.WriteString(`<footer><a href="/noise/terms">Terms</a></footer></body></html>`)
		fmt.Fprint(w, b.String())
	case strings.HasPrefix(r.URL.Path, "/shop/item/"):
		i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/shop/item/"))
		if err != nil || i < 1 || i > s.Items {
			http.NotFound(w, r)
			return
		}
		var tags strings.Builder
		for _, t := range ItemTags(i) {
			fmt.Fprintf(&tags, "<li>%s</li>", t)
		}
		fmt.Fprintf(w, `<html><body>%s<h1 class="name">  %s
</h1><span class="price">$%.2f</span><ul class="tags">%s</ul><img class="main" src="%s">
<a href="/noise/review/%d">reviews</a></body></html>`, noise, ItemName(i), ItemPrice(i), tags.String(), ItemImage(i), i)
	default:
		fmt.Fprintf(w, "<html><body>%s noise</body></html>", noise)
	}
}
