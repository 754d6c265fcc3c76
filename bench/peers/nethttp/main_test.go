package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestHelloAnswersTheBenchmarkBody(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(serveHello))
	defer server.Close()
	response, err := http.Get(server.URL + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != helloBody || response.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("got %q as %q", body, response.Header.Get("Content-Type"))
	}
}

func TestParseGroupsTakesIANANames(t *testing.T) {
	curves, err := parseGroups("x25519, SECP256R1,X25519MLKEM768")
	if err != nil {
		t.Fatal(err)
	}
	want := []tls.CurveID{tls.X25519, tls.CurveP256, tls.X25519MLKEM768}
	if !slices.Equal(curves, want) {
		t.Fatalf("got %v, want %v", curves, want)
	}
	if _, err := parseGroups("x25519,P-256"); err == nil {
		t.Fatal("accepted Go's spelling P-256 instead of the IANA name secp256r1")
	}
}
