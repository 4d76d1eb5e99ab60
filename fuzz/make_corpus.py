#!/usr/bin/env python3
"""Writes the seed corpora of fuzz/corpus/ from the study dataset and from
the requests of the unit tests, encoded with protoc. Run from the repository
root after changing a proto or the study: python3 fuzz/make_corpus.py
"""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
INCLUDES = ["-I" + os.path.join(ROOT, "proto"), "-I/usr/share/grpc-proto",
            "-I/usr/include"]
PROTOS = ["thb/cooperation/v1/dataset.proto",
          "thb/cooperation/v1/cooperation_service.proto",
          "thb/registry/v1/registry_service.proto",
          "thb/stats/v1/stats_service.proto"]


def encode(message_type, text):
    return subprocess.run(
        ["protoc", *INCLUDES, "--encode=" + message_type, *PROTOS],
        input=text.encode(), capture_output=True, check=True,
        cwd=ROOT).stdout


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def fields(data):
    """Top-level (field number, bytes) of the length-delimited fields."""
    at = 0
    while at < len(data):
        key, at = read_varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 2:
            length, at = read_varint(data, at)
            yield number, data[at:at + length]
            at += length
        elif wire == 0:
            _, at = read_varint(data, at)
        else:
            raise ValueError("unexpected wire type %d" % wire)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def write(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as out:
        out.write(data)


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    with open(os.path.join(ROOT, "data", "study.txtpb")) as study_file:
        study_text = study_file.read()
    study = encode("thb.cooperation.v1.Dataset", study_text)
    statements = [payload for number, payload in fields(study) if number == 4]
    records = [payload for number, payload in fields(study) if number == 5]
    filters = [dict(fields(s)).get(3, b"") for s in statements]

    # Dataset readers: a small dataset in text and in JSON, the tags file.
    small = ('title: "fuzz"\nas_of_date: "2025-07-16"\n'
             'statements { footnote: 10 text: "Thirteen" '
             'filter { kinds: RECORD_KIND_GOOD_PRACTICE '
             'thematic_areas: THEMATIC_AREA_PREVENTION } count: 1 '
             'countries: "BE." }\n'
             'records { id: "fn10-be" reporting_country: "BE" '
             'kind: RECORD_KIND_GOOD_PRACTICE '
             'thematic_areas: THEMATIC_AREA_PREVENTION start_year: 2021 '
             'end_year: 2023 sources { citation: "EMN (2025)" footnote: 10 } '
             'tags: "low-trust" }\n')
    write("dataset_text", "small.txtpb", small.encode())
    with open(os.path.join(ROOT, "data", "tags.txtpb"), "rb") as tags:
        write("dataset_text", "tags.txtpb", tags.read())
    write("dataset_json", "small.json", b'{"title":"fuzz","asOfDate":'
          b'"2025-07-16","statements":[{"footnote":10,"text":"Thirteen",'
          b'"filter":{"kinds":["RECORD_KIND_GOOD_PRACTICE"],'
          b'"thematicAreas":["THEMATIC_AREA_PREVENTION"]},"count":1,'
          b'"countries":"BE."}],"records":[{"id":"fn10-be",'
          b'"reportingCountry":"BE","kind":"RECORD_KIND_GOOD_PRACTICE",'
          b'"startYear":2021,"endYear":2023,"sources":[{"citation":'
          b'"EMN (2025)","footnote":10}],"tags":["low-trust"]}]}')
    write("dataset_json", "empty.json", b"{}")

    # Page tokens: an 8-byte filter hash, then a key.
    for i, key in enumerate([b"", b"fn10-be", b"BE", b"x" * 63]):
        write("page_token", "key%d" % i, bytes(range(i, i + 8)) + key)

    for i, text in enumerate(["2025-07-16", "2024-02-29", "2023-02-29",
                              "1900-01-01", "", "2025-7-1"]):
        write("dates", "date%d" % i, text.encode())

    for i, text in enumerate(["127.0.0.1:50051", "localhost:50052",
                              "127.0.0.1:50053,127.0.0.1:50063",
                              "[::1]:50053, [::1]:50063",
                              "dns:///thb-aggregator:50053",
                              "localhost:1,[::1]:2", "unix:/tmp/thb.sock"]):
        write("address", "address%d" % i, text.encode())

    # Records, one of each footnote's first country.
    chosen = records[::12][:12]
    for i, record in enumerate(chosen):
        write("record_validation", "record%02d" % i, record)

    # Queries from the statements, alone and combined.
    queries = [field(1, f) for f in filters]
    for i, query in enumerate(queries[:12]):
        write("query_validators", "query%02d" % i, query)
    write("query_validators", "all_of", field(2, field(1, queries[1]) +
                                               field(1, queries[2])))
    write("query_validators", "difference",
          field(4, field(1, queries[1]) + field(1, queries[3])))

    # Whole statistics requests: the RPC byte, then the request.
    for i, query in enumerate(queries[:6]):
        write("query_engine", "count%02d" % i, b"\x00" + field(1, query))
    write("query_engine", "breakdown", b"\x01" + field(1, queries[1]) +
          b"\x10\x01\x18\x01")
    write("query_engine", "crosstab", b"\x02" + field(1, queries[2]) +
          b"\x10\x01\x18\x02\x20\x02")
    write("query_engine", "share", b"\x03" + field(1, queries[3]) +
          field(2, queries[0]))
    write("query_engine", "explain", b"\x04" + field(1, queries[4]) +
          field(2, b"2024-01-01"))

    # Cooperation calls: RPC byte, 2-byte length, request.
    def call(rpc, request):
        return bytes([rpc, len(request) & 0xFF, len(request) >> 8]) + request
    create = [field(1, r) for r in chosen[:4]]
    write("cooperation_core", "create_get",
          call(0, create[0]) + call(4, field(1, b"fn07-be")))
    write("cooperation_core", "batch_list",
          call(1, field(1, chosen[1]) + field(1, chosen[2])) +
          call(5, b"\x08\x02"))
    write("cooperation_core", "create_update_delete",
          call(0, create[3]) + call(2, create[3]) +
          call(3, field(1, dict(fields(chosen[3]))[1])) + call(6, b""))

    # Update masks on a study record.
    updates = [
        'record { title: "A new title" } update_mask { paths: "title" }',
        'record { tags: "low-trust" tags: "covid-19" } '
        'update_mask { paths: "tags" }',
        'record { reporting_country: "gr" } '
        'update_mask { paths: "reporting_country" }',
        'record { start_year: 2020 end_year: 2024 } '
        'update_mask { paths: "start_year" paths: "end_year" }',
        'record { partners { kind: PARTNER_KIND_INTERNATIONAL_ORGANISATION '
        'id: "IOM" } } update_mask { paths: "partners" }',
    ]
    for i, text in enumerate(updates):
        write("update_mask", "update%d" % i,
              encode("thb.cooperation.v1.UpdateRecordRequest", text))

    # Registry writes: RPC byte, then the request.
    registry = [
        (0, "thb.registry.v1.CreateCountryRequest",
         'country { code: "XK" iso_alpha2: "XK" name: "Kosovo" }'),
        (1, "thb.registry.v1.UpdateCountryRequest",
         'country { code: "FR" name: "France" } '
         'update_mask { paths: "name" }'),
        (2, "thb.registry.v1.CreateRegionRequest",
         'region { id: "CENTRAL_ASIA" name: "Central Asia" '
         'country_codes: "KZ" country_codes: "UZ" }'),
        (3, "thb.registry.v1.UpdateRegionRequest",
         'region { id: "SAHEL" name: "Sahel" } update_mask { paths: "name" }'),
        (4, "thb.registry.v1.CreateOrganisationRequest",
         'organisation { id: "INTERPOL" name: "Interpol" '
         'kind: ORGANISATION_KIND_INTERNATIONAL_ORGANISATION }'),
        (5, "thb.registry.v1.UpdateOrganisationRequest",
         'organisation { id: "IOM" name: "IOM" } '
         'update_mask { paths: "name" }'),
        (6, "thb.registry.v1.DeleteCountryRequest", 'code: "ZZ"'),
        (7, "thb.registry.v1.ListCountriesRequest", 'page_size: 5'),
    ]
    for rpc, message_type, text in registry:
        try:
            payload = encode(message_type, text)
        except subprocess.CalledProcessError as error:
            sys.exit("%s: %s" % (message_type, error.stderr.decode()))
        write("registry_core", "call%d" % rpc, bytes([rpc]) + payload)


if __name__ == "__main__":
    main()
