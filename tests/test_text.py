import unicodedata

import pytest

from app.phones import PhoneError, mask_phone, normalize_phone
from app.text import clean_line, fold, nfc, sort_vietnamese


def test_nfc_turns_decomposed_vietnamese_into_composed():
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    assert decomposed != "Nguyễn Thị Ánh"
    assert nfc(f"  {decomposed} ") == "Nguyễn Thị Ánh"
    assert clean_line("Trần   Văn\tBa") == "Trần Văn Ba"


def test_fold_ignores_diacritics_and_case():
    assert fold("Phường Vị Thanh") == "phuong vi thanh"
    assert fold("ĐỒNG THÁP") == "dong thap"
    assert fold(unicodedata.normalize("NFD", "Ô Môn")) == "o mon"


def test_vietnamese_alphabetical_order():
    words = ["đ", "b", "â", "ă", "a", "d", "ơ", "ô", "o", "ư", "u", "e", "ê"]
    assert sort_vietnamese(words) == [
        "a",
        "ă",
        "â",
        "b",
        "d",
        "đ",
        "e",
        "ê",
        "o",
        "ô",
        "ơ",
        "u",
        "ư",
    ]
    # Tones come after letters: "Ba" < "Bà" < "Bả" < "Bã" < "Bá" < "Bạ" < "Bac".
    assert sort_vietnamese(["Bac", "Bạ", "Bá", "Bã", "Bả", "Bà", "Ba"]) == [
        "Ba",
        "Bà",
        "Bả",
        "Bã",
        "Bá",
        "Bạ",
        "Bac",
    ]
    # Plain code-point order would put "Đ" after "Z" and "Â" far from "A".
    assert sort_vietnamese(["Xã Đông Hiệp", "Xã Ân Hòa", "Xã Dân Chủ", "Xã An Bình"]) == [
        "Xã An Bình",
        "Xã Ân Hòa",
        "Xã Dân Chủ",
        "Xã Đông Hiệp",
    ]


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678",
        "+84912345678",
        "84912345678",
        "0912 345 678",
        "+84 91-234-5678",
        "0912.345.678",
    ],
)
def test_phone_forms_normalise_to_one(raw):
    assert normalize_phone(raw) == "0912345678"


@pytest.mark.parametrize(
    "raw", ["", "091234567", "09123456789", "0212345678", "abc", "+1 912345678"]
)
def test_bad_phones_refused_with_the_format_explained(raw):
    with pytest.raises(PhoneError, match="10"):
        normalize_phone(raw)


def test_mask_phone():
    assert mask_phone("0912345678") == "0912***678"
