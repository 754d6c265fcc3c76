package tlsstate

import (
	"reflect"
	"sync"
	"unsafe"
)

// wipeObject zeroes the object p points to, when its type holds no
// pointer (zeroing memory behind the garbage collector's back is safe only
// then). The AEADs of the standard library (AES-GCM, with its key schedule
// and GHASH table) and of golang.org/x/crypto (ChaCha20-Poly1305, with its
// key) keep their key material inline in such an object and offer no way
// to erase it; dropped, it would stay in the heap until reused. The object
// must not be used afterwards. Anything else is left alone.
func wipeObject(p any) {
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer || v.IsNil() || !pointerFreeCached(v.Type().Elem()) {
		return
	}
	clear(unsafe.Slice((*byte)(v.UnsafePointer()), v.Type().Elem().Size()))
}

// holdsNoPointer reports whether p points to an object without pointers
// (so it refers to nothing else).
func holdsNoPointer(p any) bool {
	v := reflect.ValueOf(p)
	return v.Kind() == reflect.Pointer && !v.IsNil() && pointerFreeCached(v.Type().Elem())
}

// pointerFreeTypes remembers pointerFree's answer per type: a handshake
// wipes five or six objects of the same two or three types, and walking a
// type's fields with reflect cost more than the key schedules it wiped.
var pointerFreeTypes sync.Map // reflect.Type → bool

// pointerFreeCached is pointerFree, computed once per type.
func pointerFreeCached(t reflect.Type) bool {
	if free, ok := pointerFreeTypes.Load(t); ok {
		return free.(bool)
	}
	free := pointerFree(t)
	pointerFreeTypes.Store(t, free)
	return free
}

// pointerFree reports whether values of t hold no pointer.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return t.Len() == 0 || pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}
