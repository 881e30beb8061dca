;; Session similarities with 128-bit SIMD: the dot products of candidate rows with session rows,
;; for computeRankFeatures. Compiled into sessionDotsWasm.ts by `npm run build:kernels`.
;;
;; Memory (shared, imported): the item embeddings (items x dim float32) from byte 0, so that a
;; candidate's row starts at candidate * dim * 4; the caller's scratch lies above them.
;;
;; Every sum is the one a plain double-precision loop computes bit for bit: it starts at 0 and
;; adds e[d] * s[d] for d = 0, 1, ... in that order, each product and sum rounded to double
;; (f64x2.mul and f64x2.add round each lane as f64.mul and f64.add do, and nothing is fused).
;; The two lanes of a vector are two session items; the speed comes from doing two, four or six
;; sums per step with no bounds checks, not from reordering any sum.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; Reads one value per 64-byte cache line of every candidate's row, so that the CPU fetches many
  ;; rows at once before the dot products wait on each in turn. Returns the sum so that the reads
  ;; are kept.
  (func (export "touch") (param $cands i32) (param $n i32) (param $dim i32) (result f32)
    (local $end i32) (local $row i32) (local $rowEnd i32) (local $sum f32)
    (local.set $end (i32.add (local.get $cands) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $candidate
        (br_if $done (i32.ge_u (local.get $cands) (local.get $end)))
        (local.set $row (i32.shl (i32.mul (i32.load (local.get $cands)) (local.get $dim)) (i32.const 2)))
        (local.set $rowEnd (i32.add (local.get $row) (i32.shl (local.get $dim) (i32.const 2))))
        (local.set $sum (f32.add (local.get $sum) (f32.load (i32.sub (local.get $rowEnd) (i32.const 4)))))
        (loop $line
          (local.set $sum (f32.add (local.get $sum) (f32.load (local.get $row))))
          (local.set $row (i32.add (local.get $row) (i32.const 64)))
          (br_if $line (i32.lt_u (local.get $row) (local.get $rowEnd))))
        (local.set $cands (i32.add (local.get $cands) (i32.const 4)))
        (br $candidate)))
    (local.get $sum))

  ;; The kernels: $pairs vectors of two session items each (1, 2 or 3 pairs: 2, 4 or 6 items).
  ;;   cands: n int32 item indices
  ;;   s:     the session rows as doubles, interleaved by step: for d = 0 .. dim-1, pair 0's two
  ;;          values, then pair 1's, ... ($pairs * 16 bytes per d)
  ;;   out:   dots, session item j of the group and candidate i at out + (j * stride + i) * 8
  ;; dim must be at least 1.

  (func (export "dots2") (param $cands i32) (param $n i32) (param $dim i32) (param $s i32) (param $out i32) (param $stride i32)
    (local $end i32) (local $e i32) (local $eEnd i32) (local $sp i32) (local $x v128) (local $a0 v128)
    (local.set $end (i32.add (local.get $cands) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $stride (i32.shl (local.get $stride) (i32.const 3)))
    (block $done
      (loop $candidate
        (br_if $done (i32.ge_u (local.get $cands) (local.get $end)))
        (local.set $e (i32.shl (i32.mul (i32.load (local.get $cands)) (local.get $dim)) (i32.const 2)))
        (local.set $eEnd (i32.add (local.get $e) (i32.shl (local.get $dim) (i32.const 2))))
        (local.set $sp (local.get $s))
        (local.set $a0 (v128.const i64x2 0 0))
        (loop $step
          (local.set $x (f64x2.splat (f64.promote_f32 (f32.load (local.get $e)))))
          (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $x) (v128.load (local.get $sp)))))
          (local.set $e (i32.add (local.get $e) (i32.const 4)))
          (local.set $sp (i32.add (local.get $sp) (i32.const 16)))
          (br_if $step (i32.lt_u (local.get $e) (local.get $eEnd))))
        (f64.store (local.get $out) (f64x2.extract_lane 0 (local.get $a0)))
        (f64.store (i32.add (local.get $out) (local.get $stride)) (f64x2.extract_lane 1 (local.get $a0)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $cands (i32.add (local.get $cands) (i32.const 4)))
        (br $candidate))))

  (func (export "dots4") (param $cands i32) (param $n i32) (param $dim i32) (param $s i32) (param $out i32) (param $stride i32)
    (local $end i32) (local $e i32) (local $eEnd i32) (local $sp i32) (local $o i32) (local $x v128) (local $a0 v128) (local $a1 v128)
    (local.set $end (i32.add (local.get $cands) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $stride (i32.shl (local.get $stride) (i32.const 3)))
    (block $done
      (loop $candidate
        (br_if $done (i32.ge_u (local.get $cands) (local.get $end)))
        (local.set $e (i32.shl (i32.mul (i32.load (local.get $cands)) (local.get $dim)) (i32.const 2)))
        (local.set $eEnd (i32.add (local.get $e) (i32.shl (local.get $dim) (i32.const 2))))
        (local.set $sp (local.get $s))
        (local.set $a0 (v128.const i64x2 0 0))
        (local.set $a1 (v128.const i64x2 0 0))
        (loop $step
          (local.set $x (f64x2.splat (f64.promote_f32 (f32.load (local.get $e)))))
          (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $x) (v128.load (local.get $sp)))))
          (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $x) (v128.load offset=16 (local.get $sp)))))
          (local.set $e (i32.add (local.get $e) (i32.const 4)))
          (local.set $sp (i32.add (local.get $sp) (i32.const 32)))
          (br_if $step (i32.lt_u (local.get $e) (local.get $eEnd))))
        (local.set $o (local.get $out))
        (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $a0)))
        (local.set $o (i32.add (local.get $o) (local.get $stride)))
        (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $a0)))
        (local.set $o (i32.add (local.get $o) (local.get $stride)))
        (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $a1)))
        (local.set $o (i32.add (local.get $o) (local.get $stride)))
        (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $a1)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $cands (i32.add (local.get $cands) (i32.const 4)))
        (br $candidate))))

  (func (export "dots6") (param $cands i32) (param $n i32) (param $dim i32) (param $s i32) (param $out i32) (param $stride i32)
    (local $end i32) (local $e i32) (local $eEnd i32) (local $sp i32) (local $o i32) (local $x v128) (local $a0 v128) (local $a1 v128) (local $a2 v128)
    (local.set $end (i32.add (local.get $cands) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $stride (i32.shl (local.get $stride) (i32.const 3)))
    (block $done
      (loop $candidate
        (br_if $done (i32.ge_u (local.get $cands) (local.get $end)))
        (local.set $e (i32.shl (i32.mul (i32.load (local.get $cands)) (local.get $dim)) (i32.const 2)))
        (local.set $eEnd (i32.add (local.get $e) (i32.shl (local.get $dim) (i32.const 2))))
        (local.set $sp (local.get $s))
        (local.set $a0 (v128.const i64x2 0 0))
        (local.set $a1 (v128.const i64x2 0 0))
        (local.set $a2 (v128.const i64x2 0 0))
        (loop $step
          (local.set $x (f64x2.splat (f64.promote_f32 (f32.load (local.get $e)))))
          (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $x) (v128.load (local.get $sp)))))
          (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $x) (v128.load offset=16 (local.get $sp)))))
          (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $x) (v128.load offset=32 (local.get $sp)))))
          (local.set $e (i32.add (local.get $e) (i32.const 4)))
          (local.set $sp (i32.add (local.get $sp) (i32.const 48)))
          (br_if $step (i32.lt_u (local.get $e) (local.get $eEnd))))
        (local.set $o (local.get $out))
        (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $a0)))
        (local.set $o (i32.add (local.get $o) (local.get $stride)))
        (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $a0)))
        (local.set $o (i32.add (local.get $o) (local.get $stride)))
        (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $a1)))
        (local.set $o (i32.add (local.get $o) (local.get $stride)))
        (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $a1)))
        (local.set $o (i32.add (local.get $o) (local.get $stride)))
        (f64.store (local.get $o) (f64x2.extract_lane 0 (local.get $a2)))
        (local.set $o (i32.add (local.get $o) (local.get $stride)))
        (f64.store (local.get $o) (f64x2.extract_lane 1 (local.get $a2)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (local.set $cands (i32.add (local.get $cands) (i32.const 4)))
        (br $candidate))))
)
