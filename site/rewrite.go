package site

import (
	"errors"
	"path"
	"regexp"
	"strings"

	"lwango/http1"
)

// rewriteHandler tries its patterns in order against the path after its
// prefix: the first that matches either rewrites the request, which the
// site then routes again, or redirects it.
type rewriteHandler struct {
	patterns []compiledPattern
	site     *Site
}

type compiledPattern struct {
	re       *regexp.Regexp
	template string // rewrite_as or redirect_to
	redirect bool
	code     int
}

func newRewriteHandler(o *RewriteOptions, s *Site) (*rewriteHandler, error) {
	h := &rewriteHandler{site: s}
	for _, p := range o.Patterns {
		re, err := regexp.Compile(p.Match)
		if err != nil {
			return nil, err
		}
		cp := compiledPattern{re: re, template: p.RewriteAs}
		if p.RedirectTo != "" {
			cp = compiledPattern{re: re, template: p.RedirectTo, redirect: true, code: p.Code}
		}
		h.patterns = append(h.patterns, cp)
	}
	if len(h.patterns) == 0 {
		return nil, errors.New("no patterns")
	}
	return h, nil
}

// Serve rewrites or redirects req and routes a rewritten request again.
func (h *rewriteHandler) Serve(req *http1.Request, rest []byte, resp *http1.Response) {
	if h.apply(req, rest, resp) {
		h.site.dispatch(req, resp, 1)
	}
}

// apply runs the patterns. It reports true when req was rewritten and must
// be routed again; otherwise resp holds the answer (a redirect, or 404 when
// no pattern matches).
func (h *rewriteHandler) apply(req *http1.Request, rest []byte, resp *http1.Response) bool {
	for i := range h.patterns {
		p := &h.patterns[i]
		m := p.re.FindSubmatchIndex(rest)
		if m == nil {
			continue
		}
		target := expand(p.template, rest, m)
		if p.redirect {
			resp.Status = p.code
			resp.AddHeader("Location", target)
			return false
		}
		newPath, query, hasQuery := strings.Cut(target, "?")
		req.Path = []byte(cleanRewritten(newPath))
		if hasQuery {
			req.Query = []byte(query)
		}
		return true
	}
	answerError(resp, 404)
	return false
}

// cleanRewritten normalises a rewritten path as the request parser
// normalises a received one: no empty, "." or ".." segments, never above
// the root, a trailing '/' kept.
func cleanRewritten(p string) string {
	clean := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// expand fills in template: $0..$9 become the match and its captures (empty
// when a capture did not take part) and $$ becomes '$'. The configuration
// check has rejected any other use of '$'.
func expand(template string, subject []byte, match []int) string {
	var b strings.Builder
	for i := 0; i < len(template); i++ {
		c := template[i]
		if c != '$' || i+1 == len(template) {
			b.WriteByte(c)
			continue
		}
		i++
		if template[i] == '$' {
			b.WriteByte('$')
			continue
		}
		n := int(template[i] - '0')
		if n >= 0 && n <= 9 && 2*n+1 < len(match) && match[2*n] >= 0 {
			b.Write(subject[match[2*n]:match[2*n+1]])
		}
	}
	return b.String()
}
