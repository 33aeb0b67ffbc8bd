#!/usr/bin/env bash
# make_corpus.sh — (re)write the seed corpora under tests/fuzz/corpus/: small valid files
# and near-valid ones (one field off), made with printf (and gzip -n for the .gz seeds),
# so every byte of the committed seeds can be regenerated. Usage: tests/fuzz/make_corpus.sh
set -euo pipefail
export LC_ALL=C  # ${#s} counts bytes
cd "$(dirname "$0")"
rm -rf corpus
mkdir -p corpus/safetensors corpus/npy corpus/idx

# One raw byte per argument (0..255).
bytes() { for b in "$@"; do printf "\\$(printf '%03o' "$b")"; done; }
le16() { bytes $(($1 & 255)) $(($1 >> 8 & 255)); }
le32() { bytes $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
be32() { bytes $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
le64() { le32 $(($1 & 0xffffffff)); le32 $(($1 >> 32 & 0xffffffff)); }

# ---- safetensors: u64 header length, JSON header, data ------------------------------
# st NAME JSON DATA_BYTES: the header is padded with spaces to a multiple of 8.
st() {
  local json=$2
  while (( ${#json} % 8 )); do json+=' '; done
  { le64 ${#json}; printf '%s' "$json"; printf "$3"; } > "corpus/safetensors/$1"
}
F4='\000\000\200\077\000\000\000\100\000\000\100\100\000\000\200\100'  # 1 2 3 4 as F32
st empty '{}' ''
st meta_only '{"__metadata__":{"format":"pt","a":"b"}}' ''
st f32_2x2 '{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}' "$F4"
st f32_meta '{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' "$F4"
st f16 '{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}' '\000\074\000\300\377\173\001\000'
st bf16 '{"h":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}' '\200\077\000\300\200\177\301\177'
st f64 '{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}' '\000\000\000\000\000\000\360\077\377\377\377\377\377\377\357\177'
st rank0 '{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}' '\000\000\200\077'
st zero_size '{"z":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"y":{"dtype":"F16","shape":[0],"data_offsets":[0,0]}}' ''
st int_dtypes '{"u":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"i":{"dtype":"I64","shape":[1],"data_offsets":[4,12]},"b":{"dtype":"BOOL","shape":[1],"data_offsets":[12,13]}}' '\001\002\003\004\005\000\000\000\000\000\000\000\001'
st all_dtypes '{"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F8_E5M2","shape":[1],"data_offsets":[1,2]},"c":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[2,3]},"d":{"dtype":"I16","shape":[1],"data_offsets":[3,5]},"e":{"dtype":"U16","shape":[1],"data_offsets":[5,7]},"f":{"dtype":"I32","shape":[1],"data_offsets":[7,11]},"g":{"dtype":"U32","shape":[1],"data_offsets":[11,15]},"h":{"dtype":"U64","shape":[1],"data_offsets":[15,23]}}' '\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021\022\023\024\025\026\027'
st unicode '{"\u00e9t\u00e9 ☃":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"k\"q":"v\\w"}}' '\000\000\200\077'
st extra_field '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":[1,{"x":null}]}}' '\000\000\200\077'
# Near-valid: each breaks one rule.
st bad_overlap '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}' "$F4"
st bad_size '{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}' "$F4"
st bad_past_end '{"w":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}' "$F4"
st bad_dtype '{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,4]}}' "$F4"
st bad_dup_name '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' "$F4"
st bad_dup_field '{"w":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}' "$F4"
st bad_meta_value '{"__metadata__":{"n":1}}' ''
st bad_big_dims '{"w":{"dtype":"F64","shape":[9007199254740992,9007199254740992],"data_offsets":[0,8]}}' "$F4"
st bad_float_dim '{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}' "$F4"
st bad_rank9 '{"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}' "$F4"
st bad_trailing '{} x' ''
st bad_not_object '[1,2]' ''
{ le64 100; printf '{}'; } > corpus/safetensors/bad_header_len
{ le64 6; printf '{"\377":1}'; } > corpus/safetensors/bad_utf8

# ---- .npy: magic, version, header length, dict, data -----------------------------------
# npy NAME MAJOR DICT DATA_BYTES: the header is padded with spaces and '\n' to 64 bytes.
npy() {
  local pre=$(( $2 == 1 ? 10 : 12 )) dict=$3
  local total=$(( (pre + ${#dict} + 1 + 63) / 64 * 64 ))
  local hlen=$(( total - pre ))
  {
    printf '\223NUMPY'; bytes "$2" 0
    if (( $2 == 1 )); then le16 $hlen; else le32 $hlen; fi
    printf '%s%*s\n' "$dict" $(( hlen - ${#dict} - 1 )) ''
    printf "$4"
  } > "corpus/npy/$1"
}
npy v1_2x2 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }" "$F4"
npy v1_vec 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }" "$F4"
npy v1_scalar 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (), }" '\000\000\200\077'
npy v1_empty 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }" ''
npy v1_rank8 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 4), }" "$F4"
npy v2_2x2 2 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }" "$F4"
npy v3_quotes 3 '{"shape": (4L,), "fortran_order": False, "descr": "<f4"}' "$F4"
npy bad_f8 1 "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }" "$F4"
npy bad_fortran 1 "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }" "$F4"
npy bad_truncated 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }" "$F4"
npy bad_trailing 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }" "$F4"
npy bad_tuple 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (4), }" "$F4"
npy bad_dup_key 1 "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,), }" "$F4"
npy bad_huge_dim 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 9223372036854775807), }" ''
npy bad_rank9 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }" '\000\000\200\077'
{ printf '\223NUMPY'; bytes 4 0 10 0; printf '{}        '; } > corpus/npy/bad_version
{ printf '\223NUMPY'; bytes 1 0 255 255; printf '{}'; } > corpus/npy/bad_header_len

# ---- IDX: 00 00 08 ndims, big-endian dims, bytes (plain and gzip) -----------------------
# idx NAME DIMS... : data bytes 0, 1, 2, ... for product(DIMS) bytes.
idx() {
  local name=$1 n=1 d i; shift
  {
    bytes 0 0 8 $#
    for d in "$@"; do be32 "$d"; n=$((n * d)); done
    for ((i = 0; i < n; i++)); do bytes $((i & 255)); done
  } > "corpus/idx/$name"
}
idx labels 10
idx images 2 4 4
idx rank4 1 2 3 2
idx rank3_1 1 1 1
gzip -n -9 -c corpus/idx/images > corpus/idx/images.gz
gzip -n -9 -c corpus/idx/labels > corpus/idx/labels.gz
# Near-valid.
{ bytes 0 0 8 1; be32 0; } > corpus/idx/bad_zero_dim
{ bytes 0 0 8 2; be32 3; be32 3; bytes 1 2 3 4 5 6 7 8; } > corpus/idx/bad_truncated
{ bytes 0 0 8 1; be32 2; bytes 1 2 3; } > corpus/idx/bad_trailing
{ bytes 0 0 9 1; be32 2; bytes 1 2; } > corpus/idx/bad_type
{ bytes 0 0 8 5; be32 1; be32 1; be32 1; be32 1; be32 1; bytes 7; } > corpus/idx/bad_rank5
{ bytes 0 0 8 4; be32 4294967295; be32 4294967295; be32 4294967295; be32 4294967295; } > corpus/idx/bad_overflow
head -c 20 corpus/idx/images.gz > corpus/idx/bad_gz_truncated
{ gzip -n -c corpus/idx/labels; gzip -n -c corpus/idx/labels; } > corpus/idx/gz_two_members

echo "seeds: $(find corpus -type f | wc -l) files, $(du -sb corpus | cut -f1) bytes"
